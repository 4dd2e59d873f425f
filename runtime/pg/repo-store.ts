/**
 * One repository as one of the project's object stores (runtime/objectstore/), built on the repo host
 * from the same settings pgBackRest uses there: the rendered pgbackrest.conf (no secret) and the
 * PGBACKREST_REPOn_* credential variables the Pod gets from Secret references (decision 0271). Used
 * to write metadata.json beside pgBackRest's directories (decision 0296). Credentials are never logged;
 * the config built here is passed to the store and nowhere else.
 */
import { readFileSync } from 'node:fs';
import type { ObjectStoreConfig } from '../objectstore/store-factory.js';

/** The `[global]` section of pgbackrest.conf as name → value. */
export function globalOptions(conf: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section = '';
  for (const raw of conf.split('\n')) {
    const line = raw.trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1];
    else if (section === 'global' && line.includes('=') && !line.startsWith('#')) {
      const at = line.indexOf('=');
      out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
  }
  return out;
}

export interface RepoStore {
  readonly config: ObjectStoreConfig;
  /** Keys are `<prefix><key relative to the repository's path>`. */
  readonly prefix: string;
}

const https = (host: string, port?: string): string => `https://${host}${port ? `:${port}` : ''}`;

/** The store of repository `n`, or an Error naming the option that is missing. */
export function repoStore(conf: string, env: NodeJS.ProcessEnv, n: number, readFile = (p: string) => readFileSync(p, 'utf8')): RepoStore {
  const o = globalOptions(conf);
  const opt = (name: string) => o[`repo${n}-${name}`];
  const secret = (name: string) => env[`PGBACKREST_REPO${n}_${name}`];
  const type = opt('type') ?? 'posix';
  const path = opt('path') ?? '/var/lib/pgbackrest';
  const prefix = path.replace(/^\/+/, '').replace(/\/*$/, '/').replace(/^\/$/, '');
  const verify = (opt('storage-verify-tls') ?? o['storage-verify-tls']) !== 'n';
  const ca = opt('storage-ca-file');
  if (type === 'posix') return { config: { type: 'filesystem', root: path }, prefix: '' };
  if (type === 's3') {
    const bucket = opt('s3-bucket');
    if (!bucket) throw new Error(`repo${n}-s3-bucket is not set in pgbackrest.conf`);
    return {
      prefix,
      config: {
        type: 's3',
        bucket,
        endpoint: https(opt('s3-endpoint') ?? `s3.${opt('s3-region') ?? 'us-east-1'}.amazonaws.com`, opt('storage-port')),
        region: opt('s3-region'),
        forcePathStyle: opt('s3-uri-style') === 'path',
        accessKeyId: secret('S3_KEY'),
        secretAccessKey: secret('S3_KEY_SECRET'),
        sessionToken: secret('S3_TOKEN'),
        ...(ca ? { ca: readFile(ca) } : {}),
        insecure: !verify,
      },
    };
  }
  if (type === 'gcs') {
    const bucket = opt('gcs-bucket');
    if (!bucket) throw new Error(`repo${n}-gcs-bucket is not set in pgbackrest.conf`);
    const key = opt('gcs-key');
    return {
      prefix,
      config: {
        type: 'gcs',
        bucket,
        apiEndpoint: https(opt('gcs-endpoint') ?? 'storage.googleapis.com', opt('storage-port')),
        ...(key ? { credentials: readFile(key) } : {}),
      },
    };
  }
  if (type === 'azure') {
    const container = opt('azure-container');
    const account = secret('AZURE_ACCOUNT');
    if (!container || !account) throw new Error(`repo${n}-azure-container and PGBACKREST_REPO${n}_AZURE_ACCOUNT must be set`);
    const host = opt('azure-endpoint') ?? 'blob.core.windows.net';
    const endpoint =
      opt('azure-uri-style') === 'path'
        ? `${https(host, opt('storage-port'))}/${account}`
        : https(`${account}.${host}`, opt('storage-port'));
    return { prefix, config: { type: 'azure', container, endpoint, accountName: account, accountKey: secret('AZURE_KEY') } };
  }
  throw new Error(`repo${n}-type ${type} is not one Silo writes metadata.json to (posix, s3, gcs, azure)`);
}
