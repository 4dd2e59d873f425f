/**
 * The Cluster reconciler's calls to an instance manager: `GET /status` (every pass, at most 10 s
 * apart) and `POST /cluster/replication` (a replica follows a primary whose address changed). mTLS
 * with the Cluster's client certificate, verifying the name every instance manager's certificate
 * carries (decision 0220); the key stays in the operator's memory for the call (decision 0262).
 */
import { request } from 'node:https';
import {
  instanceManagerUrl,
  PATHS,
  REPLICATION_PATH,
  type MysqlStatusFields,
  type ReplicationSourceRequest,
} from '../../../contracts/instance-manager-protocol.js';

export interface InstanceManagerTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly servername: string;
}

export type InstanceManagerStatus = MysqlStatusFields & { readonly instance?: string; readonly backup?: unknown };

const TIMEOUT_MS = 5_000;

function call<T>(ip: string, tls: InstanceManagerTls, method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
  const url = new URL(path, instanceManagerUrl(ip));
  const payload = body ? JSON.stringify(body) : undefined;
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        servername: tls.servername,
        timeout: TIMEOUT_MS,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) return reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new Error(`${method} ${path}: not JSON`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export const fetchInstanceStatus = (ip: string, tls: InstanceManagerTls): Promise<InstanceManagerStatus> =>
  call<InstanceManagerStatus>(ip, tls, 'GET', PATHS.status);

export const pointReplicaAt = (ip: string, tls: InstanceManagerTls, source: ReplicationSourceRequest): Promise<InstanceManagerStatus> =>
  call<InstanceManagerStatus>(ip, tls, 'POST', REPLICATION_PATH, source);
