/** What both demonstrations of `npm run main` share: one line per step, and waiting for a state. */

export const say = (line: string) => process.stdout.write(`demo: ${line}\n`);

/**
 * Calls `fn` every second until it returns a value. An error whose message starts with `fatal: ` ends the
 * wait at once (a Failed phase); any other error is retried and reported if the wait times out.
 */
export async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = (error as Error).message;
      if (/^fatal: /.test(last)) throw new Error(last.slice(7), { cause: error });
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Runs a demonstration: exit 0 when it ends, else its error on stderr and exit 1. */
export function runDemo(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`demo: ${error.message}\n`);
      process.exit(1);
    },
  );
}
