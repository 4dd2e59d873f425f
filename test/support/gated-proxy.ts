// A TCP proxy in front of a server (MinIO) that forwards every connection until one of them has
// carried `afterBytes` from the server, then holds that connection's response there: a download
// that is surely in progress, for as long as a test needs to act on it (kill the worker mid-download).
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface GatedProxy {
  readonly port: number;
  /** Resolves when a response has been held at `afterBytes`. */
  readonly held: Promise<void>;
  close(): Promise<void>;
}

export async function gatedProxy(target: { host: string; port: number }, afterBytes: number): Promise<GatedProxy> {
  const sockets = new Set<Socket>();
  let hold!: () => void;
  const held = new Promise<void>((resolve) => (hold = resolve));
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let forwarded = 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (forwarded >= afterBytes) return;
      const room = afterBytes - forwarded;
      client.write(chunk.length > room ? chunk.subarray(0, room) : chunk);
      forwarded += Math.min(chunk.length, room);
      if (forwarded >= afterBytes) {
        upstream.pause();
        hold();
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
