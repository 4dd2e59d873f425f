/**
 * A TCP proxy on a pod IP that calls `onBytes` once more than `afterBytes` have
 * come back from the server: the hook for "kill the instance manager while its
 * stream is flowing", which on this machine lasts well under a second. From then on
 * the client gets nothing more and its connection ends: whatever the server had
 * already queued (a small compressed backup fits in the socket buffers, trailers
 * and all) dies with it, so the stream is cut at `afterBytes` however fast it was.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TapProxy {
  fired: () => boolean;
  close: () => Promise<void>;
}

export async function tapProxy(
  listen: { host: string; port: number },
  upstreamPort: number,
  afterBytes: number,
  onBytes: () => void,
): Promise<TapProxy> {
  let fired = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, listen.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    let seen = 0;
    upstream.on('data', (data: Buffer) => {
      if (fired) return;
      seen += data.length;
      client.write(data);
      if (seen > afterBytes) {
        fired = true;
        onBytes();
        client.end();
      }
    });
    upstream.on('end', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  return {
    fired: () => fired,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
