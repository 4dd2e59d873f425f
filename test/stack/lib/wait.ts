import { connect } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidFileAlive } from './proc.js';

export interface WaitOptions {
  intervalMs?: number;
  /** Give up at once when the server's process is gone, instead of waiting out the timeout. */
  pidFile?: string;
}

/** Polls `check` until it returns true; throws on timeout so the caller can attach the server's log. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  opts: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const intervalMs = opts.intervalMs ?? 200;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    if (opts.pidFile && !pidFileAlive(opts.pidFile)) throw new Error(`the process exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** GETs url and returns the status code (any code means the server answers). */
export function httpStatus(url: string, opts: { ca?: string | Buffer; timeoutMs?: number } = {}): Promise<number> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(u, { method: 'GET', ca: opts.ca, timeout: opts.timeoutMs ?? 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export function waitForPort(host: string, port: number, timeoutMs: number, opts: WaitOptions = {}): Promise<void> {
  return waitUntil(`${host}:${port} to accept connections`, () => portOpen(host, port), timeoutMs, opts);
}

export function waitForHttp(
  url: string,
  timeoutMs: number,
  opts: WaitOptions & { ca?: string | Buffer; ok?: (status: number) => boolean } = {},
): Promise<void> {
  const ok = opts.ok ?? ((s: number) => s >= 200 && s < 500);
  return waitUntil(`${url} to answer`, async () => ok(await httpStatus(url, opts)), timeoutMs, opts);
}
