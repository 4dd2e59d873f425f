// A TCP proxy in front of a server (MinIO over TLS: the bytes pass untouched, so the certificate still names
// the host) that a test turns like a valve: full flow, a rate limit on the server's bytes over all connections
// together (a restore slow enough to act on mid-copy) or on each connection's client bytes (a backup's upload slow
// enough to act on while it runs, while another client's small requests still pass), paused (every byte held where it is, nothing lost, for a
// kill at a known moment), or refusing (connections cut and new ones closed at once: the store unreachable).
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ValveProxy {
  readonly port: number;
  /** Bytes forwarded from the server since the last rate() call. */
  readonly forwarded: () => number;
  /** Limits the server's bytes to `bytesPerSecond` (undefined: no limit), counting from now. */
  rate(bytesPerSecond: number | undefined): void;
  /** Limits each connection's client bytes (uploads) to `bytesPerSecond` (undefined: no limit), counting from now. */
  uploadRate(bytesPerSecond: number | undefined): void;
  pause(): void;
  resume(): void;
  /** Cuts every connection and closes new ones at once, until accept(). */
  refuse(): void;
  accept(): void;
  close(): Promise<void>;
}

/** One direction's limit: bytes since `since`, paced to `limit` per second (undefined: no limit). */
class Flow {
  limit: number | undefined;
  bytes = 0;
  since = Date.now();
  /** Senders waiting out the pace: a new limit lets them go at once (a burst at a low rate meant a minute's wait). */
  private readonly held = new Map<Socket, NodeJS.Timeout>();

  constructor(private readonly mayResume: () => boolean) {}

  /**
   * Paces at `limit` from now (undefined: no limit). Kept apart from restart(): one `reset(limit = this.limit)` took
   * an explicit undefined as "keep", so an opened valve went on pacing the connections already open.
   */
  limitTo(limit: number | undefined): void {
    this.limit = limit;
    this.restart();
  }

  /** Paces at the same limit, counting from now; senders waiting out the pace go at once. */
  restart(): void {
    this.bytes = 0;
    this.since = Date.now();
    for (const [sender, timer] of this.held) {
      clearTimeout(timer);
      if (this.mayResume()) sender.resume();
    }
    this.held.clear();
  }

  /** Holds `sender` for `ms`, then lets it go on unless the valve is paused. */
  hold(sender: Socket, ms: number): void {
    clearTimeout(this.held.get(sender));
    this.held.set(
      sender,
      setTimeout(() => {
        this.held.delete(sender);
        if (this.mayResume()) sender.resume();
      }, ms),
    );
  }

  /** How long the sender must wait after these bytes, in ms (0: go on). */
  add(n: number): number {
    this.bytes += n;
    return this.limit ? Math.max((this.bytes / this.limit) * 1000 - (Date.now() - this.since), 0) : 0;
  }
}

export async function valveProxy(target: { host: string; port: number }): Promise<ValveProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket; up: Flow }>();
  let uploadLimit: number | undefined;
  let paused = false;
  const down = new Flow(() => !paused);
  let refusing = false;
  /** Bytes `from` sent, written to `to`: `from` waits for a slow `to` (as pipe() would), the flow's pace and a pause. */
  const forward = (from: Socket, to: Socket, flow: Flow) =>
    from.on('data', (chunk: Buffer) => {
      const ahead = flow.add(chunk.length);
      const drained = to.write(chunk);
      if (!drained || paused || ahead > 0) from.pause();
      if (!drained) to.once('drain', () => !paused && from.resume());
      else if (paused || ahead > 0) flow.hold(from, ahead);
    });
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(target.port, target.host);
    // Per connection: a backup's upload owing a minute at a low rate must not hold another client's request.
    const up = new Flow(() => !paused);
    up.limitTo(uploadLimit);
    const pair = { client, upstream, up };
    pairs.add(pair);
    if (paused) client.pause();
    forward(client, upstream, up);
    forward(upstream, client, down);
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  const destroyAll = () => {
    for (const { client, upstream } of pairs) {
      client.destroy();
      upstream.destroy();
    }
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    forwarded: () => down.bytes,
    rate: (bytesPerSecond) => down.limitTo(bytesPerSecond),
    uploadRate(bytesPerSecond) {
      uploadLimit = bytesPerSecond;
      for (const pair of pairs) pair.up.limitTo(bytesPerSecond);
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
      // The rates count from now: the held time is not owed as a burst.
      down.restart();
      for (const { client, upstream, up } of pairs) {
        up.restart();
        client.resume();
        upstream.resume();
      }
    },
    refuse() {
      refusing = true;
      destroyAll();
      pairs.clear();
    },
    accept() {
      refusing = false;
    },
    close: async () => {
      destroyAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
