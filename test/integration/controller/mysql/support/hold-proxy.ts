/**
 * A TCP proxy on a pod IP that passes `afterBytes` of the server's answer to the client, then holds
 * the rest back while keeping both connections open: the client sees a stream that stalls
 * mid-way, as a slow network would make it, for as long as the test needs (e.g. to delete a Pod
 * while its init container is cloning). When the client goes, the server's connection goes too.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface HoldProxy {
  /** Resolves once `afterBytes` have passed and the stream is being held. */
  readonly holding: Promise<void>;
  /** Bytes passed to the client so far. */
  passed(): number;
  close(): Promise<void>;
}

export async function holdProxy(listen: { host: string; port: number }, upstreamPort: number, afterBytes: number): Promise<HoldProxy> {
  let passed = 0;
  let hold!: () => void;
  const holding = new Promise<void>((resolve) => (hold = resolve));
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, listen.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      const room = afterBytes - passed;
      if (room <= 0) return;
      const part = data.subarray(0, room);
      passed += part.length;
      client.write(part);
      if (passed >= afterBytes) {
        // Stop reading: the server's sends back up into its socket buffers and it stalls, as the client does.
        upstream.pause();
        hold();
      }
    });
    upstream.on('end', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  return {
    holding,
    passed: () => passed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
