/**
 * The repo host agent's POST /metadata (decision 0296): after a backup succeeded, metadata.json for
 * its set, written with the project's object-store clients at `<repo path>/silo/backups/db/<label>/`
 * (runtime/contracts/pg-backup-metadata.ts). The SHA256 is of backup.manifest's bytes as stored
 * (`repo-get --raw`: encrypted bytes in an encrypted repository), so a reader of the bucket alone can
 * check the manifest it fetches.
 */
import { createHash } from 'node:crypto';
import { PG_STANZA, PG_VAR, PGBACKREST_CONF_FILE } from '../contracts/pg-pods.js';
import { pgBackupMetadataKey, type MetadataAnswer, type MetadataRequest } from '../contracts/pg-backup-metadata.js';
import { createObjectStore } from '../objectstore/store-factory.js';
import type { ObjectStore } from '../objectstore/object-store.js';
import { buildPgBackupMetadata, expiredMetadataKeys, manifestKey, parseInfoJson } from './backup-metadata.js';
import { runAsPostgres, spawnAsPostgres } from './pgbackrest-process.js';
import { pgbackrestOutcome } from './pgbackrest-outcome.js';
import { repoStore } from './repo-store.js';

const BASE = [`--config=${PGBACKREST_CONF_FILE}`, `--stanza=${PG_STANZA}`];
const LABEL = /^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/;

/** SHA256 of a repository file's stored bytes, streamed from `pgbackrest repo-get --raw`. */
function storedSha256(repo: number, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnAsPostgres('pgbackrest', [...BASE, `--repo=${repo}`, '--raw', 'repo-get', key], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const hash = createHash('sha256');
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => hash.update(c));
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(hash.digest('hex')) : reject(new Error(pgbackrestOutcome(code, stderr).message ?? `repo-get exited ${code}`)),
    );
  });
}

/**
 * Removes metadata.json of sets pgBackRest's expire removed (decision 0296): ours, beside its directories, so it follows
 * its retention. A failure here leaves the new document written and is told, never thrown.
 */
async function pruneExpired(
  store: ObjectStore,
  prefix: string,
  info: unknown,
  repo: number,
): Promise<Pick<MetadataAnswer, 'pruned' | 'pruneError'>> {
  try {
    const keys = (await store.list(`${prefix}silo/backups/`)).map((k) => k.slice(prefix.length));
    const expired = expiredMetadataKeys(info, repo, keys);
    if (expired.length) await store.delete(expired.map((k) => `${prefix}${k}`));
    return expired.length ? { pruned: expired } : {};
  } catch (error) {
    return { pruneError: (error as Error).message.slice(0, 300) };
  }
}

async function openRepoStore(env: NodeJS.ProcessEnv, repo: number): Promise<{ store: ObjectStore; prefix: string }> {
  const { config, prefix } = repoStore(env[PG_VAR.pgbackrestConf] ?? '', env, repo);
  return { store: await createObjectStore(config), prefix };
}

/** `pgbackrest info --output=json` of one repository, read by parseInfoJson; an error names pgBackRest's cause. */
export async function readRepoInfo(repo: number): Promise<unknown> {
  const info = await runAsPostgres('pgbackrest', [...BASE, `--repo=${repo}`, '--output=json', 'info']);
  if (info.code !== 0) throw new Error(`pgbackrest info: ${pgbackrestOutcome(info.code, info.output).message ?? ''}`);
  return parseInfoJson(info.stdout);
}

/**
 * `readInfo`: where the set's info comes from when the caller already reads it (the repo host agent reads every
 * repository's right after a backup, and two `pgbackrest info` runs at once only compete for the same cores); by
 * default this repository's own. The document takes only this repository's entries from it either way.
 */
export async function writePgBackupMetadata(
  request: MetadataRequest,
  env: NodeJS.ProcessEnv,
  readInfo: (repo: number) => Promise<unknown> = readRepoInfo,
  now = new Date(),
): Promise<MetadataAnswer> {
  if (!Number.isInteger(request.repo) || request.repo < 1 || request.repo > 4) return { ok: false, error: 'repo must be 1 to 4' };
  if (!LABEL.test(request.label ?? ''))
    return { ok: false, error: `label ${JSON.stringify(request.label)} is not a pgBackRest backup label` };
  try {
    // info, the manifest's hash and the store's client at once: each waits on its own process or import, and a PGBackup
    // reads completed only once this document is written (decision 0296). info is judged first, as when they ran in turn.
    // Every set of the repository (not only --set's): the same answer also says which sets expire removed.
    const reading = readInfo(request.repo);
    const hashing = storedSha256(request.repo, manifestKey(request.label));
    const opening = openRepoStore(env, request.repo);
    for (const started of [reading, hashing, opening]) started.catch(() => undefined); // each is awaited below, or dropped
    const parsed = await reading;
    const manifestSha256 = await hashing;
    const document = buildPgBackupMetadata({ info: parsed, repo: request.repo, label: request.label, manifestSha256, now });
    const { store, prefix } = await opening;
    const path = pgBackupMetadataKey(PG_STANZA, request.label);
    // The prune cannot touch the new document: it removes only sets that info no longer lists, and this one it does.
    const [, pruned] = await Promise.all([
      store.putSmall(`${prefix}${path}`, Buffer.from(`${JSON.stringify(document, null, 2)}\n`), 'application/json'),
      pruneExpired(store, prefix, parsed, request.repo),
    ]);
    return { ok: true, path, url: store.url(`${prefix}${path}`), manifestSha256, ...pruned };
  } catch (error) {
    return { ok: false, error: (error as Error).message.slice(0, 500) };
  }
}
