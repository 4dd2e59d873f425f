/**
 * The pgbackrest.conf of an instance and of the repo host, and the repo host's credential variables.
 * Pure. A config holds no secret: storage keys and cipher passphrases reach only the repo host, as
 * PGBACKREST_REPOn_* variables from Secret references, which pgBackRest reads itself (decision 0271).
 * The instances' config names the same storage (type, bucket, path: pgBackRest's client sends them and
 * the repo host uses them) with placeholders for the keys, which the client never sends; an encrypted
 * repository's passphrase is the one secret instances get, because pgBackRest encrypts WAL there (decision 0270).
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import type { PGBackRestRepo, PGClusterSpec } from '../../../../src/api/postgres.silo.io/types.js';
import {
  PG_CN,
  PG_PORT,
  PG_RUN_DIR,
  PG_SOCKET_DIR,
  PG_SPOOL,
  PG_STANZA,
  PG_TLS_COPY,
  PGBACKREST_SERVER_PORT,
  PGDATA,
  repoCaMount,
  repoGcsKeyMount,
  repoVolumeMount,
} from '../../../contracts/pg-pods.js';
import { defaultRepoPath, repoIndex } from '../shared/pg-objects.js';

/** Silo's defaults, each overridable through spec.backups.pgbackrest.global. */
const DEFAULTS: Record<string, string> = {
  'compress-type': 'zst',
  'compress-level': '1',
  // Without it a backup of a quiet database waits for the next checkpoint (checkpoint_timeout, 5 min by default).
  'start-fast': 'y',
  'log-level-console': 'info',
};

export interface ConfigInput {
  readonly cluster: string;
  readonly namespace: string;
  readonly spec: PGClusterSpec;
  /** DNS names pgBackRest dials: the primary's and the repo host's. */
  readonly primaryHost: string;
  readonly repoHostHost: string;
}

/** A pgbackrest.conf from sections; empty and unset options are left out. */
export const ini = (sections: Array<[string, Record<string, string | undefined>]>): string =>
  sections
    .map(
      ([name, options]) =>
        `[${name}]\n${Object.entries(options)
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\n`,
    )
    .join('\n');

const tlsServer = (allowedCn: string): Record<string, string> => ({
  'tls-server-ca-file': PG_TLS_COPY.ca,
  'tls-server-cert-file': PG_TLS_COPY.cert,
  'tls-server-key-file': PG_TLS_COPY.key,
  'tls-server-auth': `${allowedCn}=${PG_STANZA}`,
});

const common = (spec: PGClusterSpec): Record<string, string> => ({
  'log-level-file': 'off',
  'lock-path': `${PG_RUN_DIR}/lock`,
  ...DEFAULTS,
  ...(spec.backups.pgbackrest.global ?? {}),
});

const QUANTITY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * archive-push-queue-max unless global sets it: half the instance volume, in MiB (decision 0283). WAL that cannot
 * be archived stays in pg_wal on that volume; past this much pgBackRest drops it (and says so in PostgreSQL's log)
 * rather than let the primary stop on a full disk.
 */
export function archivePushQueueMax(storageSize: string): string | undefined {
  const match = /^(\d+(?:\.\d+)?)(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(storageSize);
  if (!match) return undefined;
  const mib = Math.floor((Number(match[1]) * QUANTITY_UNITS[match[2] ?? '']) / 2 / 2 ** 20);
  return mib >= 64 ? `${mib}MB` : undefined;
}

/** pgbackrest.conf of an instance: its TLS server (for the repo host) and every repository through the repo host. */
export function instanceConfig(input: ConfigInput): string {
  const repos = input.spec.backups.pgbackrest.repos;
  const global: Record<string, string | undefined> = {
    'archive-push-queue-max': archivePushQueueMax(input.spec.storage.size),
    ...common(input.spec),
    ...tlsServer(PG_CN.repoHost),
    'archive-async': 'y',
    'spool-path': PG_SPOOL,
  };
  for (const repo of repos) {
    const n = repoIndex(repo);
    Object.assign(global, {
      [`repo${n}-host`]: input.repoHostHost,
      [`repo${n}-host-type`]: 'tls',
      [`repo${n}-host-port`]: String(PGBACKREST_SERVER_PORT),
      [`repo${n}-host-ca-file`]: PG_TLS_COPY.ca,
      [`repo${n}-host-cert-file`]: PG_TLS_COPY.cert,
      [`repo${n}-host-key-file`]: PG_TLS_COPY.key,
      // The client sends its repository options (pgBackRest's defaults when unset: posix, /var/lib/pgbackrest) and the
      // repo host uses them, so the instance names the same storage; secure options are never sent (decision 0270).
      ...repoOptions(repo, input.namespace, input.cluster),
      ...securePlaceholders(repo),
      // pgBackRest encrypts WAL and decrypts archive.info on the database side: an encrypted repository's
      // instances need the cipher type (and the passphrase, from instanceCipherEnv) (decision 0270).
      ...(repo.encryption ? { [`repo${n}-cipher-type`]: repo.encryption.cipherType ?? 'aes-256-cbc' } : {}),
    });
  }
  return ini([
    ['global', global],
    [PG_STANZA, { 'pg1-path': PGDATA, 'pg1-port': String(PG_PORT), 'pg1-socket-path': PG_SOCKET_DIR }],
  ]);
}

/** `host[:port]` of an endpoint written with or without https://. */
export function splitEndpoint(endpoint: string): { host: string; port?: string } {
  const bare = endpoint.replace(/^https:\/\//, '');
  const [host, port] = bare.split(':');
  return { host, ...(port ? { port } : {}) };
}

/** The repository's path as pgBackRest sees it on the repo host: a volume repository's is under its mount. */
export function repoPath(repo: PGBackRestRepo, namespace: string, cluster: string): string {
  const path = repo.path ?? defaultRepoPath(namespace, cluster);
  return repo.volume ? `${repoVolumeMount(repo.name)}${path}` : path;
}

/** The Secret key of the CA bundle that signed an object store's certificate, if the repository names one. */
export function storeCaSecret(repo: PGBackRestRepo): { name: string; key: string } | undefined {
  return repo.s3?.caSecret ?? repo.gcs?.caSecret ?? repo.azure?.caSecret;
}

const caFile = (repo: PGBackRestRepo): string | undefined => (storeCaSecret(repo) ? `${repoCaMount(repo.name)}/ca.crt` : undefined);

/**
 * GCS: the key type follows the credentials given (a key file on the repo host, a token from its environment, or
 * the metadata server). The key type is sent by the instances' client, so both sides name it; the key itself is a
 * secure option pgBackRest never sends.
 */
function gcsOptions(
  gcs: NonNullable<PGBackRestRepo['gcs']>,
  repo: string,
  p: (name: string) => string,
): Record<string, string | undefined> {
  const keyType = gcs.credentials?.serviceAccountKey ? 'service' : gcs.credentials?.token ? 'token' : 'auto';
  return {
    [p('type')]: 'gcs',
    [p('gcs-bucket')]: gcs.bucket,
    [p('gcs-endpoint')]: gcs.endpoint?.replace(/^https:\/\//, ''),
    [p('gcs-key-type')]: keyType,
    [p('gcs-key')]: keyType === 'service' ? `${repoGcsKeyMount(repo)}/key.json` : undefined,
    [p('storage-upload-chunk-size')]: gcs.uploadChunkSize,
  };
}

/** Azure: pgBackRest takes the endpoint's host and port apart; an emulator (Azurite) needs path-style URIs. */
function azureOptions(azure: NonNullable<PGBackRestRepo['azure']>, p: (name: string) => string): Record<string, string | undefined> {
  const endpoint = azure.endpoint ? splitEndpoint(azure.endpoint) : undefined;
  return {
    [p('type')]: 'azure',
    [p('azure-container')]: azure.container,
    [p('azure-endpoint')]: endpoint?.host,
    [p('storage-port')]: endpoint?.port,
    [p('azure-uri-style')]: azure.uriStyle ?? 'host',
  };
}

export function repoOptions(repo: PGBackRestRepo, namespace: string, cluster: string): Record<string, string | undefined> {
  const n = repoIndex(repo);
  const p = (name: string) => `repo${n}-${name}`;
  const path = repoPath(repo, namespace, cluster);
  const out: Record<string, string | undefined> = {};
  if (repo.s3) {
    const { host, port } = splitEndpoint(repo.s3.endpoint);
    Object.assign(out, {
      [p('type')]: 's3',
      [p('s3-bucket')]: repo.s3.bucket,
      [p('s3-endpoint')]: host,
      [p('storage-port')]: port,
      [p('s3-region')]: repo.s3.region,
      [p('s3-uri-style')]: repo.s3.uriStyle ?? 'host',
      [p('storage-ca-file')]: caFile(repo),
      [p('path')]: path,
    });
  } else if (repo.gcs) {
    Object.assign(out, gcsOptions(repo.gcs, repo.name, p), { [p('storage-ca-file')]: caFile(repo), [p('path')]: path });
  } else if (repo.azure) {
    Object.assign(out, azureOptions(repo.azure, p), { [p('storage-ca-file')]: caFile(repo), [p('path')]: path });
  } else {
    Object.assign(out, { [p('type')]: 'posix', [p('path')]: path });
  }
  // Bundled unless the repository says not: a 1 GiB backup made ~25 % faster, through the repo host and by hand (decision 0288).
  out[p('bundle')] = repo.bundle === false ? 'n' : 'y';
  return out;
}

/**
 * pgBackRest's client refuses an s3 or azure repository without its keys, even one it reaches through a
 * repo host, but never sends secure options to the remote: the repo host uses its own (from its
 * environment). The instance gets placeholders, which are not credentials.
 */
export function securePlaceholders(repo: PGBackRestRepo): Record<string, string> {
  const n = repoIndex(repo);
  const unused = 'held-by-the-repo-host';
  if (repo.s3) return { [`repo${n}-s3-key`]: unused, [`repo${n}-s3-key-secret`]: unused };
  if (repo.azure) return { [`repo${n}-azure-account`]: unused, [`repo${n}-azure-key`]: unused };
  if (repo.gcs?.credentials?.token) return { [`repo${n}-gcs-key`]: unused };
  return {};
}

/** pgBackRest's retention (applied by expire after each backup) and the cipher type of one repository. */
function retentionOptions(repo: PGBackRestRepo): Record<string, string | undefined> {
  const p = (name: string) => `repo${repoIndex(repo)}-${name}`;
  const r = repo.retention;
  return {
    [p('retention-full')]: r?.full?.toString(),
    [p('retention-full-type')]: r?.full ? (r.fullType ?? 'count') : undefined,
    [p('retention-diff')]: r?.diff?.toString(),
    [p('retention-archive')]: r?.archive?.toString(),
    [p('retention-archive-type')]: r?.archive ? (r.archiveType ?? 'full') : undefined,
    [p('cipher-type')]: repo.encryption ? (repo.encryption.cipherType ?? 'aes-256-cbc') : undefined,
  };
}

/** pgbackrest.conf of the repo host: every repository, its TLS server (for the instances) and the primary as pg1. */
export function repoHostConfig(input: ConfigInput): string {
  const global: Record<string, string | undefined> = { ...common(input.spec), ...tlsServer(PG_CN.instance) };
  for (const repo of input.spec.backups.pgbackrest.repos)
    Object.assign(global, repoOptions(repo, input.namespace, input.cluster), retentionOptions(repo));
  return ini([
    ['global', global],
    [
      PG_STANZA,
      {
        'pg1-host': input.primaryHost,
        'pg1-host-type': 'tls',
        'pg1-host-port': String(PGBACKREST_SERVER_PORT),
        'pg1-host-ca-file': PG_TLS_COPY.ca,
        'pg1-host-cert-file': PG_TLS_COPY.cert,
        'pg1-host-key-file': PG_TLS_COPY.key,
        'pg1-path': PGDATA,
        'pg1-port': String(PG_PORT),
        'pg1-socket-path': PG_SOCKET_DIR,
      },
    ],
  ]);
}

/** The instance's only secret variables: the passphrases of encrypted repositories (never a storage key). */
export function instanceCipherEnv(repos: readonly PGBackRestRepo[]): V1EnvVar[] {
  return repos
    .filter((repo) => repo.encryption)
    .map((repo) => ({
      name: `PGBACKREST_REPO${repoIndex(repo)}_CIPHER_PASS`,
      valueFrom: { secretKeyRef: { name: repo.encryption!.passphrase.name, key: repo.encryption!.passphrase.key } },
    }));
}

/** The repo host's credential variables, from the repositories' Secret references (pgBackRest reads PGBACKREST_<OPTION>). */
export function repoHostCredentialEnv(repos: readonly PGBackRestRepo[]): V1EnvVar[] {
  const fromSecret = (name: string, ref: { name: string; key: string }): V1EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } },
  });
  return repos.flatMap((repo) => {
    const v = (option: string) => `PGBACKREST_REPO${repoIndex(repo)}_${option}`;
    return [
      ...(repo.s3
        ? [fromSecret(v('S3_KEY'), repo.s3.credentials.accessKeyId), fromSecret(v('S3_KEY_SECRET'), repo.s3.credentials.secretAccessKey)]
        : []),
      ...(repo.azure
        ? [fromSecret(v('AZURE_ACCOUNT'), repo.azure.credentials.account), fromSecret(v('AZURE_KEY'), repo.azure.credentials.key)]
        : []),
      // pgBackRest 2.45 treats the Azure endpoint as a secure option: a client never sends it, and the repo host's
      // remotes (spawned by its `pgbackrest server`) read no config file, only their environment. Not a secret.
      ...(repo.azure?.endpoint ? [{ name: v('AZURE_ENDPOINT'), value: splitEndpoint(repo.azure.endpoint).host }] : []),
      // A GCS token is the key itself (repoN-gcs-key-type=token); a service key is a file mounted on the repo host.
      ...(repo.gcs?.credentials?.token ? [fromSecret(v('GCS_KEY'), repo.gcs.credentials.token)] : []),
      ...(repo.encryption ? [fromSecret(v('CIPHER_PASS'), repo.encryption.passphrase)] : []),
    ];
  });
}
