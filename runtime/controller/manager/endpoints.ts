/**
 * The probe and metrics servers. /healthz: the process answers and no informer
 * is wedged. /readyz: every informer has listed once (a standby is ready too:
 * its cache is warm and it can take over). /metrics: Prometheus text.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeState {
  wedged(): string[];
  synced(): boolean;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startHealthServer(state: ProbeState, port: number, host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const wedged = state.wedged();
      res.writeHead(wedged.length ? 500 : 200, { 'Content-Type': 'text/plain' });
      return res.end(wedged.length ? `informers failing for too long: ${wedged.join(', ')}\n` : 'ok\n');
    }
    if (path === '/readyz') {
      const ready = state.synced();
      res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain' });
      return res.end(ready ? 'ok\n' : 'informers not synced yet\n');
    }
    res.writeHead(404).end();
  });
  return { server, port: await listen(server, port, host) };
}

export async function startMetricsServer(
  registry: Registry,
  beforeScrape: () => void,
  port: number,
  host: string,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') return res.writeHead(404).end();
    beforeScrape();
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(text);
      },
      (error) => {
        res.writeHead(500).end(String(error));
      },
    );
  });
  return { server, port: await listen(server, port, host) };
}
