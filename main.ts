console.log("main placeholder")
