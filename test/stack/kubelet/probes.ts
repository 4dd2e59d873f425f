/**
 * Startup, readiness and liveness probes, as the kubelet runs them: exec
 * inside the container's mount namespace (nsenter), tcpSocket and httpGet
 * against the pod IP. Defaults follow the Kubernetes API.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export interface ProbeTarget {
  pid: number;
  podIP: string;
  env: Record<string, string>;
  cwd: string;
  container: V1Container;
}

/** A named port ("health") becomes its containerPort. */
export function resolvePort(port: number | string, container: V1Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const found = container.ports?.find((p) => p.name === port);
  if (!found) throw new Error(`probe port "${port}" is not a named port of container ${container.name}`);
  return found.containerPort;
}

function execProbe(argv: string[], t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(
      'nsenter',
      ['--target', String(t.pid), '--mount', '--', '/bin/sh', '-c', 'cd "$0" 2>/dev/null; exec "$@"', t.cwd, ...argv],
      {
        env: t.env,
        stdio: 'ignore',
        detached: true,
      },
    );
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function httpProbe(url: string, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

export async function runProbe(probe: V1Probe, t: ProbeTarget): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.exec?.command) return await execProbe(probe.exec.command, t, timeoutMs);
    if (probe.tcpSocket)
      return await tcpProbe(probe.tcpSocket.host ?? t.podIP, resolvePort(probe.tcpSocket.port as number | string, t.container), timeoutMs);
    if (probe.httpGet) {
      const g = probe.httpGet;
      const scheme = (g.scheme ?? 'HTTP').toLowerCase();
      const path = g.path?.startsWith('/') ? g.path : `/${g.path ?? ''}`;
      const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
      return await httpProbe(
        `${scheme}://${g.host ?? t.podIP}:${resolvePort(g.port as number | string, t.container)}${path}`,
        headers,
        timeoutMs,
      );
    }
  } catch {
    return false;
  }
  return true; // grpc and unknown handlers: treated as passing rather than blocking the pod
}

export interface ProberCallbacks {
  onReady(ready: boolean): void;
  /** Liveness or startup failed failureThreshold times: the container must be killed. */
  onUnhealthy(reason: string): void;
}

/** Runs a container's probes until stop(); the startup probe gates the others. */
export class ContainerProber {
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private started: boolean;

  constructor(
    private readonly t: ProbeTarget,
    private readonly cb: ProberCallbacks,
  ) {
    this.started = !t.container.startupProbe;
  }

  start(): void {
    const c = this.t.container;
    if (c.startupProbe) this.loop(c.startupProbe, 'startup');
    if (c.readinessProbe) this.loop(c.readinessProbe, 'readiness');
    else this.cb.onReady(true);
    if (c.livenessProbe) this.loop(c.livenessProbe, 'liveness');
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  private loop(probe: V1Probe, kind: 'startup' | 'readiness' | 'liveness'): void {
    const period = (probe.periodSeconds ?? 10) * 1000;
    const failureThreshold = probe.failureThreshold ?? 3;
    const successThreshold = probe.successThreshold ?? 1;
    let failures = 0;
    let successes = 0;
    const tick = async () => {
      if (this.stopped) return;
      if (kind !== 'startup' && !this.started) return this.schedule(tick, 500);
      const ok = await runProbe(probe, this.t);
      if (this.stopped) return;
      if (ok) {
        failures = 0;
        successes++;
        if (kind === 'startup') {
          this.started = true;
          return;
        }
        if (kind === 'readiness' && successes >= successThreshold) this.cb.onReady(true);
      } else {
        successes = 0;
        failures++;
        if (kind === 'readiness' && failures >= failureThreshold) this.cb.onReady(false);
        if (kind !== 'readiness' && failures >= failureThreshold) {
          this.cb.onUnhealthy(`${kind} probe failed ${failures} times`);
          return;
        }
      }
      this.schedule(tick, period);
    };
    this.schedule(tick, (probe.initialDelaySeconds ?? 0) * 1000);
  }

  private schedule(fn: () => void, ms: number): void {
    this.timers.push(setTimeout(fn, ms));
  }
}
