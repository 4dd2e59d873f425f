// A TCP proxy in front of a server (MinIO) that forwards everything, the server's bytes at no more
// than `bytesPerSecond` over all connections together: a download that takes as long as a test needs
// to watch it (a recovery's progress), whatever the machine's speed. Nothing is dropped or changed.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ThrottledProxy {
  readonly port: number;
  /** Bytes forwarded from the server so far. */
  readonly forwarded: () => number;
  close(): Promise<void>;
}

export async function throttledProxy(target: { host: string; port: number }, bytesPerSecond: number): Promise<ThrottledProxy> {
  const sockets = new Set<Socket>();
  let forwarded = 0;
  let since: number | undefined;
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      since ??= Date.now();
      client.write(chunk);
      forwarded += chunk.length;
      // Ahead of the budget: wait until the bytes sent so far are due.
      const ahead = (forwarded / bytesPerSecond) * 1000 - (Date.now() - since);
      if (ahead > 0) {
        upstream.pause();
        setTimeout(() => upstream.resume(), ahead);
      }
    });
    upstream.on('end', () => client.end());
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    forwarded: () => forwarded,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
