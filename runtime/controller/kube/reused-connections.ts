/**
 * One kept-alive connection pool per API server and credentials, for everything a KubeConfig sends.
 *
 * client-node 1.x builds a new `https.Agent` for every request, from the typed clients, the watches
 * and `applyToHTTPSOptions` alike (kubernetes-client/javascript#2893; fixed in 2.x, which is built on
 * undici and needs a newer Node than the image's 20). Every API call then paid a TCP connection and a
 * TLS handshake: on this machine 10 ms and 6.7 CPU-ms of the caller's per call, against 2 ms and
 * 1.2 CPU-ms on a kept-alive connection, and as much again in the API server (decision 0022).
 */
import { createHash } from 'node:crypto';
import type { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

const POOLED = Symbol('silo.reusedConnections');

type CreateAgent = (cluster: Cluster | null, options: AgentOptions) => HttpAgent | HttpsAgent;

/** What decides a connection: the server, its trust, the client's identity and the TLS settings. */
function poolKey(cluster: Cluster | null, options: AgentOptions): string {
  const hash = createHash('sha256');
  hash.update(`${cluster?.server ?? ''}\0${options.servername ?? ''}\0${String(options.rejectUnauthorized)}\0`);
  for (const part of [options.ca, options.cert, options.key, options.pfx, options.passphrase]) {
    for (const piece of Array.isArray(part) ? part : [part]) hash.update(piece === undefined ? '-' : String(piece)).update('\0');
  }
  return hash.digest('hex');
}

/**
 * Makes `kc` reuse one kept-alive agent per server and credentials. A Bearer token is a header, read
 * per request, so a rotated ServiceAccount token needs no new pool; new certificates make a new one.
 * Proxied clusters keep client-node's own agents.
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createAgent: CreateAgent; [POOLED]?: true };
  if (target[POOLED]) return kc;
  target[POOLED] = true;
  const original = target.createAgent.bind(kc);
  const pools = new Map<string, HttpsAgent>();
  target.createAgent = (cluster, options) => {
    if (cluster?.proxyUrl || !cluster?.server.startsWith('https:')) return original(cluster, options);
    const key = poolKey(cluster, options);
    let agent = pools.get(key);
    if (!agent) {
      agent = new HttpsAgent({ ...options, keepAlive: true });
      pools.set(key, agent);
    }
    return agent;
  };
  return kc;
}
