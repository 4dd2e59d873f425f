import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface CuttingProxy {
  port: number;
  cuts: () => number;
  close: () => void;
}

/**
 * A loopback TCP proxy to `port` that cuts its first connection once more than
 * `afterBytes` have flowed in one direction: a connection dropped mid-download
 * (`download`, server → client) or mid-upload (`upload`, client → server).
 */
export async function cuttingProxy(port: number, direction: 'download' | 'upload', afterBytes: number): Promise<CuttingProxy> {
  let cuts = 0;
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    const [from, to] = direction === 'download' ? [upstream, client] : [client, upstream];
    let flowed = 0;
    (direction === 'download' ? client : upstream).pipe(direction === 'download' ? upstream : client);
    from.on('data', (data: Buffer) => {
      flowed += data.length;
      if (flowed > afterBytes && cuts === 0) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      to.write(data);
    });
    from.on('end', () => to.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as AddressInfo).port,
    cuts: () => cuts,
    close: () => {
      proxy.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
