/**
 * The operator's client of a repo host agent (runtime/pg/repo-agent.ts): mutual TLS with the cluster's
 * `silo-pg-backup` certificate, read from its Secret (never logged). The agent is dialed by pod IP
 * and checked by the DNS name its certificate holds, so the operator needs no cluster DNS. The
 * controller only asks and reads answers: pgBackRest runs on the repo host (principle 1).
 */
import { request } from 'node:https';
import { AGENT_PATHS, REPO_AGENT_PORT, type AgentStatus, type CommandOutcome } from '../../../contracts/pg-pods.js';
import { AGENT_WAL_TIME_PATH, type WalTimeAnswer, type WalTimeRequest } from '../../../contracts/pg-restore.js';
import { AGENT_METADATA_PATH, type MetadataAnswer, type MetadataRequest } from '../../../contracts/pg-backup-metadata.js';
import type { KubeClient } from '../../kube/client.js';

export interface AgentTarget {
  readonly namespace: string;
  readonly podIp: string;
  readonly serverName: string;
  readonly tlsSecret: string;
}

const decode = (data: Record<string, string> | undefined, key: string): string => {
  const value = data?.[key];
  if (!value) throw new Error(`Secret key ${key} is missing`);
  return Buffer.from(value, 'base64').toString('utf8');
};

export class RepoAgentClient {
  /** The TLS Secret, read once per client: a reconcile pass that asks twice (a PGBackup's info, then its metadata) reads it once. */
  private secret?: Promise<Record<string, string> | undefined>;

  constructor(
    private readonly client: KubeClient,
    private readonly target: AgentTarget,
  ) {}

  private async call<T>(method: 'GET' | 'POST', path: string, timeoutMs: number, body?: object): Promise<T> {
    this.secret ??= this.client
      .readSecret(this.target.namespace, this.target.tlsSecret)
      .then((s) => s.data as Record<string, string> | undefined);
    // A failed read is not kept: the next call reads again.
    const data = await this.secret.catch((error: unknown) => {
      this.secret = undefined;
      throw error;
    });
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          host: this.target.podIp,
          port: REPO_AGENT_PORT,
          method,
          path,
          cert: decode(data, 'tls.crt'),
          key: decode(data, 'tls.key'),
          ca: decode(data, 'ca.crt'),
          servername: this.target.serverName,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) return reject(new Error(`repo host agent ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`));
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              reject(new Error(`repo host agent ${path}: not JSON`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`repo host agent ${path}: no answer within ${timeoutMs / 1000} s`)));
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  }

  status(): Promise<AgentStatus> {
    return this.call('GET', AGENT_PATHS.status, 60_000);
  }

  /** stanza-create on every repository; waits for pgBackRest to finish. */
  createStanza(): Promise<CommandOutcome> {
    return this.call('POST', AGENT_PATHS.stanza, 300_000);
  }

  /** pgbackrest check: a WAL switch reaches every repository within archive-timeout. */
  check(): Promise<CommandOutcome> {
    return this.call('POST', AGENT_PATHS.check, 300_000);
  }

  /** When a WAL segment reached the repository (epoch seconds), for a recovery window's upper bound. */
  walTime(request: WalTimeRequest): Promise<WalTimeAnswer> {
    return this.call('POST', AGENT_WAL_TIME_PATH, 60_000, request);
  }

  /** The repo host writes the set's metadata.json (decision 0296); the answer says where, or why not. */
  writeMetadata(request: MetadataRequest): Promise<MetadataAnswer> {
    return this.call('POST', AGENT_METADATA_PATH, 120_000, request);
  }
}
