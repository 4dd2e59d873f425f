// Placeholder root hooks; the stack brings components up on demand (test/stack/mocha.ts).
export const mochaHooks = {};
