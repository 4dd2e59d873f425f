/**
 * The main job's demonstration of PostgreSQL (issues 14 and 15), on the real local stack: the operator
 * (a process with its ServiceAccount, bound by the synthesized ClusterRole) runs a PGCluster whose
 * repo host holds repo1 (a volume) and repo2 (MinIO over TLS, encrypted); the stanza is created, WAL
 * is archived continuously and the initial full backup lands in repo1. A PGBackup takes a full backup
 * into repo2. Then rows A are written, the time T is noted, rows B are written and a table is dropped
 * by mistake; a new PGCluster restored from repo2 to T (checked against the repository's recovery
 * window before anything runs) has A, not B, and the dropped table. Then the source itself is restored in
 * place to T (a PGRestore): the same data, a new timeline, archiving again into the same stanza. Prints each
 * step and the RTO.
 *
 * Stops only the stack components it started (SILO_KEEP_STACK=1 keeps them).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { CustomObjects } from '../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../runtime/controller/kube/kinds.js';
import type { PGBackupStatus, PGClusterSpec, PGClusterStatus, PGInPlaceRestoreStatus } from '../../src/api/postgres.silo.io/types.js';
import { startOperator } from '../../test/support/operator-process.js';
import { createContext } from '../../test/stack/context.js';
import { adminKubeconfig } from '../../test/stack/kube/layout.js';
import { downAll, upAll } from '../../test/stack/orchestrate.js';
import { minio } from '../../test/stack/components/minio.js';
import { pgBin } from '../../test/stack/components/postgres.js';
import { poll, runDemo, say } from './demo-support.js';

interface Demo {
  core: CoreV1Api;
  objects: CustomObjects;
  namespace: string;
}

const getCluster = (demo: Demo, name: string) =>
  demo.objects.get<{ status?: PGClusterStatus }>(KINDS.PGCluster, { namespace: demo.namespace, name });

async function psql(demo: Demo, cluster: string, sql: string): Promise<string> {
  const status = (await getCluster(demo, cluster))!.status!;
  const secret = await demo.core.readNamespacedSecret({ namespace: demo.namespace, name: `${cluster}-pguser-postgres` });
  const password = Buffer.from(secret.data!.password, 'base64').toString('utf8');
  return execFileSync(pgBin('psql'), ['-X', '-A', '-t', '-h', status.primary!.podIP!, '-U', 'postgres', '-d', 'postgres', '-c', sql], {
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
    encoding: 'utf8',
    timeout: 60_000,
  }).trim();
}

async function ready(demo: Demo, name: string, done: (s: PGClusterStatus) => boolean): Promise<PGClusterStatus> {
  return poll(`PGCluster ${name}`, async () => {
    const status = (await getCluster(demo, name))?.status;
    if (status?.phase === 'Failed') throw new Error(`fatal: PGCluster ${name} failed: ${status.phaseReason}`);
    return status && done(status) ? status : undefined;
  });
}

async function backupCompleted(demo: Demo, name: string): Promise<PGBackupStatus> {
  return poll(`PGBackup ${name}`, async () => {
    const b = await demo.objects.get<{ status?: PGBackupStatus }>(KINDS.PGBackup, { namespace: demo.namespace, name });
    if (b?.status?.phase === 'failed') throw new Error(`fatal: PGBackup ${name} failed: ${b.status.reason}: ${b.status.message}`);
    return b?.status?.phase === 'completed' ? b.status : undefined;
  });
}

const mib = (bytes?: number) => `${((bytes ?? 0) / 1024 ** 2).toFixed(1)} MiB`;

/** The source: up with both repositories, its initial backup in repo1 and a full one in repo2. */
async function source(demo: Demo, repo2: NonNullable<PGClusterSpec['backups']['pgbackrest']['repos']>[number]): Promise<void> {
  const spec: PGClusterSpec = {
    storage: { size: '1Gi' },
    backups: { pgbackrest: { repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }, repo2] } },
  };
  await demo.objects.create(KINDS.PGCluster, { metadata: { name: 'inventory', namespace: demo.namespace }, spec });
  say(`PGCluster ${demo.namespace}/inventory created: repo1 on a volume, repo2 on MinIO over TLS (aes-256-cbc)`);
  const status = await ready(demo, 'inventory', (s) => s.phase === 'Ready');
  const conditions = status.conditions!.map((c) => `${c.type}=${c.status}`).join(', ');
  say(`inventory Ready (${conditions}); stanza in ${status.repos!.map((r) => `${r.name} (${r.type})`).join(' and ')}`);
  const initial = await backupCompleted(demo, 'inventory-initial');
  say(`initial backup ${initial.label} (${initial.type}) in ${initial.repo}: ${mib(initial.databaseSizeBytes)} of data`);
  await demo.objects.create(KINDS.PGBackup, {
    metadata: { name: 'inventory-repo2', namespace: demo.namespace },
    spec: { cluster: { name: 'inventory' }, repoName: 'repo2' },
  });
  const full = await backupCompleted(demo, 'inventory-repo2');
  say(`PGBackup inventory-repo2 (no type given) into an empty repo2 became ${full.type}: ${full.label}, ${mib(full.repoSizeBytes)} stored`);
}

/** Writes A, notes T, writes B, drops a table; waits until repo2's archive holds all of it. */
async function accident(demo: Demo): Promise<string> {
  await psql(demo, 'inventory', 'CREATE TABLE items (id int PRIMARY KEY, batch text); CREATE TABLE suppliers (id int)');
  await psql(demo, 'inventory', "INSERT INTO items SELECT g, 'A' FROM generate_series(1, 1000) g; INSERT INTO suppliers VALUES (1), (2)");
  await new Promise((r) => setTimeout(r, 1500));
  const target = await psql(demo, 'inventory', `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
  await new Promise((r) => setTimeout(r, 1500));
  await psql(demo, 'inventory', "INSERT INTO items SELECT g, 'B' FROM generate_series(1001, 1500) g; DROP TABLE suppliers");
  say(`1000 rows A written, T = ${target}, then 500 rows B and DROP TABLE suppliers (the mistake)`);
  // The segment that holds the mistake, closed by the switch. Segment names of one timeline sort as they were written;
  // later segments may be archived by the time the status is read (archive_timeout), so "at least", never "equal".
  const switched = await psql(demo, 'inventory', 'SELECT pg_walfile_name(pg_switch_wal())');
  await poll('the switched WAL segment archived', async () => {
    const wal = await psql(demo, 'inventory', 'SELECT last_archived_wal FROM pg_stat_archiver');
    return wal && wal >= switched ? wal : undefined;
  });
  // The recovery window comes from pgBackRest's info, which the status follows every 30 s.
  await ready(demo, 'inventory', (s) => s.repos!.every((r) => (r.archiveMax ?? '') >= switched));
  say(`WAL up to ${switched} archived in both repositories`);
  return target;
}

async function restored(demo: Demo, target: string): Promise<void> {
  const spec: PGClusterSpec = {
    storage: { size: '1Gi' },
    dataSource: { postgresCluster: { clusterName: 'inventory', repoName: 'repo2' }, target: { time: target } },
    backups: { pgbackrest: { repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
  };
  await demo.objects.create(KINDS.PGCluster, { metadata: { name: 'inventory-pitr', namespace: demo.namespace }, spec });
  say(`PGCluster inventory-pitr created with dataSource inventory/repo2, target time ${target}`);
  const planned = await ready(demo, 'inventory-pitr', (s) => !!s.restore?.window);
  const r = planned.restore!;
  say(`  checked before anything ran: window ${r.window!.from} … ${r.window!.to}; backup set ${r.backupLabel}`);
  const status = await ready(demo, 'inventory-pitr', (s) => !!s.restore?.readyAt && !!s.primary?.ready);
  const done = status.restore!;
  say(
    `  restored: reached ${done.reachedTime ?? '?'} (LSN ${done.reachedLsn ?? '?'}, timeline ${done.reachedTimeline ?? '?'}); RTO ${done.rtoSeconds} s`,
  );
  const batches = await psql(demo, 'inventory-pitr', 'SELECT batch || ' + "':' || count(*) FROM items GROUP BY batch ORDER BY batch");
  const suppliers = await psql(demo, 'inventory-pitr', 'SELECT count(*) FROM suppliers');
  say(`  items by batch: ${batches.split('\n').join(', ')}; suppliers: ${suppliers} rows (the dropped table is back)`);
  if (batches !== 'A:1000' || suppliers !== '2')
    throw new Error(`inventory-pitr is not the source at T: items ${batches}, suppliers ${suppliers}`);
}

/** The mistake undone on the source itself: a PGRestore to T, in place. */
async function restoredInPlace(demo: Demo, target: string): Promise<void> {
  const timelineBefore = await psql(demo, 'inventory', 'SELECT timeline_id FROM pg_control_checkpoint()');
  await demo.objects.create(KINDS.PGRestore, {
    metadata: { name: 'inventory-undo', namespace: demo.namespace },
    spec: { cluster: { name: 'inventory' }, repoName: 'repo2', target: { time: target } },
  });
  say(`PGRestore inventory-undo created: inventory itself, in place, to ${target}`);
  const steps: string[] = [];
  const status = await poll('PGRestore inventory-undo', async () => {
    const s = (
      await demo.objects.get<{ status?: PGInPlaceRestoreStatus }>(KINDS.PGRestore, { namespace: demo.namespace, name: 'inventory-undo' })
    )?.status;
    if (s?.phase === 'Failed' || s?.phase === 'Refused')
      throw new Error(`fatal: PGRestore inventory-undo ${s.phase}: ${s.reason}: ${s.message}`);
    if (s?.phase && steps[steps.length - 1] !== s.phase) steps.push(s.phase);
    return s?.phase === 'Succeeded' ? s : undefined;
  });
  say(
    `  ${steps.join(' → ')}: timeline ${timelineBefore} → ${status.reachedTimeline}, RTO ${status.rtoSeconds} s, archiving again in its stanza`,
  );
  const batches = await psql(demo, 'inventory', 'SELECT batch || ' + "':' || count(*) FROM items GROUP BY batch ORDER BY batch");
  const suppliers = await psql(demo, 'inventory', 'SELECT count(*) FROM suppliers');
  say(`  inventory's items by batch: ${batches.split('\n').join(', ')}; suppliers: ${suppliers} rows`);
  if (batches !== 'A:1000' || suppliers !== '2')
    throw new Error(`inventory is not as at T after PGRestore: items ${batches}, suppliers ${suppliers}`);
}

async function main(): Promise<void> {
  const ctx = createContext();
  const started = await upAll(ctx, ['kube', 'kubelet', 'minio']);
  const namespace = `silo-pg-demo-${randomBytes(3).toString('hex')}`;
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig(ctx));
  const demo: Demo = { core: kc.makeApiClient(CoreV1Api), objects: new CustomObjects(kc), namespace };
  const operator = await startOperator({ watchNamespaces: [namespace], leaderElectionId: namespace });
  try {
    const env = minio.env(ctx);
    await demo.core.createNamespace({ body: { metadata: { name: namespace } } });
    const secrets: Record<string, Record<string, string>> = {
      'minio-creds': { accessKey: env.MINIO_ACCESS_KEY, secretKey: env.MINIO_SECRET_KEY },
      'minio-ca': { 'ca.crt': readFileSync(env.MINIO_CA_FILE, 'utf8') },
      'pgbackrest-cipher': { passphrase: randomBytes(24).toString('base64') },
    };
    for (const [name, stringData] of Object.entries(secrets))
      await demo.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData } });
    await source(demo, {
      name: 'repo2',
      s3: {
        bucket: env.MINIO_BUCKET,
        endpoint: env.MINIO_TLS_ENDPOINT,
        region: 'us-east-1',
        uriStyle: 'path',
        caSecret: { name: 'minio-ca', key: 'ca.crt' },
        credentials: { accessKeyId: { name: 'minio-creds', key: 'accessKey' }, secretAccessKey: { name: 'minio-creds', key: 'secretKey' } },
      },
      encryption: { passphrase: { name: 'pgbackrest-cipher', key: 'passphrase' } },
    });
    const target = await accident(demo);
    await restored(demo, target);
    say('point-in-time recovery verified: the new cluster holds A, not B, and the dropped table');
    await restoredInPlace(demo, target);
    say('in-place restore verified: inventory itself holds A, not B, and the dropped table, on a new timeline');
  } finally {
    await demo.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await operator.stop();
    if (process.env.SILO_KEEP_STACK !== '1') await downAll(ctx, started);
  }
}

runDemo(main);
