// A TCP proxy in front of a server (MinIO over TLS: the bytes pass untouched, so the certificate still names
// the host) that a test turns like a valve: full flow, a rate limit on the server's bytes over all connections
// together (a restore slow enough to act on mid-copy), paused (every byte held where it is, nothing lost, for a
// kill at a known moment), or refusing (connections cut and new ones closed at once: the store unreachable).
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ValveProxy {
  readonly port: number;
  /** Bytes forwarded from the server since the last rate() call. */
  readonly forwarded: () => number;
  /** Limits the server's bytes to `bytesPerSecond` (undefined: no limit), counting from now. */
  rate(bytesPerSecond: number | undefined): void;
  pause(): void;
  resume(): void;
  /** Cuts every connection and closes new ones at once, until accept(). */
  refuse(): void;
  accept(): void;
  close(): Promise<void>;
}

export async function valveProxy(target: { host: string; port: number }): Promise<ValveProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let limit: number | undefined;
  let forwarded = 0;
  let since = Date.now();
  let paused = false;
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    if (paused) client.pause();
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      forwarded += chunk.length;
      const ahead = limit ? (forwarded / limit) * 1000 - (Date.now() - since) : 0;
      if (paused || ahead > 0) {
        upstream.pause();
        setTimeout(() => !paused && upstream.resume(), Math.max(ahead, 0));
      }
    });
    upstream.on('end', () => client.end());
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    forwarded: () => forwarded,
    rate(bytesPerSecond) {
      limit = bytesPerSecond;
      forwarded = 0;
      since = Date.now();
    },
    pause() {
      paused = true;
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    resume() {
      paused = false;
      // The rate counts from now: the held time is not owed as a burst.
      forwarded = 0;
      since = Date.now();
      for (const { client, upstream } of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    refuse() {
      refusing = true;
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    accept() {
      refusing = false;
    },
    close: async () => {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
