// A TCP proxy in front of a server (MinIO) that forwards every connection until one of them has
// carried `afterBytes` from the server, then holds that connection's response there: a download
// that is surely in progress, for as long as a test needs to act on it (kill the worker mid-download).
// `release()` lets every held response go on (nothing is lost) and stops holding new ones.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface GatedProxy {
  readonly port: number;
  /** Resolves when a response has been held at `afterBytes`. */
  readonly held: Promise<void>;
  /** Resumes the held responses and forwards everything from now on. */
  release(): void;
  close(): Promise<void>;
}

export async function gatedProxy(target: { host: string; port: number }, afterBytes: number): Promise<GatedProxy> {
  const sockets = new Set<Socket>();
  const resumers = new Set<() => void>();
  let released = false;
  let hold!: () => void;
  const held = new Promise<void>((resolve) => (hold = resolve));
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let forwarded = 0;
    let kept: Buffer[] = [];
    client.pipe(upstream);
    const resume = () => {
      for (const chunk of kept) client.write(chunk);
      kept = [];
      upstream.resume();
    };
    upstream.on('data', (chunk: Buffer) => {
      if (released || forwarded < afterBytes) {
        const room = released ? chunk.length : afterBytes - forwarded;
        client.write(chunk.length > room ? chunk.subarray(0, room) : chunk);
        forwarded += Math.min(chunk.length, room);
        if (chunk.length > room) kept.push(chunk.subarray(room));
      } else kept.push(chunk);
      if (!released && forwarded >= afterBytes) {
        upstream.pause();
        resumers.add(resume);
        hold();
      }
    });
    const end = () => {
      resumers.delete(resume);
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
    release: () => {
      released = true;
      for (const resume of resumers) resume();
      resumers.clear();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
