/**
 * A WAL outage, end to end (issue 15): a PGCluster whose repo1 is a MinIO of this file's own (TLS, the
 * stack's binary), so the test can really stop it; the operator as a process, PostgreSQL 15 and
 * pgBackRest 2.45 under the process kubelet. Rows A are archived; MinIO is stopped for 3 minutes while
 * rows B are written, a time T is noted, rows C are written and WAL is switched again and again:
 * ContinuousArchiving goes False naming the store unreachable (no credential in the message), the
 * primary keeps serving and holds the backlog. MinIO returns: the backlog drains (the archive max
 * reaches the last switched segment) and the condition is True again. A new cluster restored to T (inside
 * the outage) has A and B and not C. Decision 0283.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { PGBackupStatus, PGClusterSpec, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgBin } from '../../../stack/components/postgres.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { createPrivateBucket, privateMinio, type PrivateMinio } from '../../../support/private-minio.js';
import { useKube, waitFor } from '../../kube/fixture.js';

const stack = useStack('kube', 'kubelet', 'minio');
type PGClusterObj = KubeObject & { status?: PGClusterStatus };
type PGBackupObj = KubeObject & { status?: PGBackupStatus };
/** Away from the stack's ports (test/stack/lib/ports.ts) and store-outage.test.ts's 19097. */
const PORT = 19094;
const OUTAGE_MS = 180_000;

describe('PGCluster through a WAL outage: its S3 store stopped for 3 minutes, then a restore to a time inside it', function () {
  this.timeout(2_400_000);
  const fx = useKube('pg-wal-outage', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  let minio: PrivateMinio;
  let target = '';
  let lastSwitched = '';
  const figures: string[] = [];
  const getCluster = (name: string) => api.get<PGClusterObj>(KINDS.PGCluster, { namespace: fx.namespace, name });
  const condition = (c: PGClusterObj | undefined) => c?.status?.conditions?.find((x) => x.type === 'ContinuousArchiving');

  async function psql(cluster: string, sql: string): Promise<string> {
    const c = (await getCluster(cluster))!;
    const secret = await fx.core.readNamespacedSecret({ namespace: fx.namespace, name: `${cluster}-pguser-postgres` });
    const password = Buffer.from(secret.data!.password, 'base64').toString('utf8');
    return execFileSync(
      pgBin('psql'),
      ['-X', '-A', '-t', '-h', c.status!.primary!.podIP!, '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-c', sql],
      { env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' }, encoding: 'utf8' },
    ).trim();
  }

  async function cluster(name: string, want: (c: PGClusterObj | undefined) => boolean, timeoutMs: number): Promise<PGClusterObj> {
    return waitFor(
      `PGCluster ${name}`,
      async () => {
        const got = await getCluster(name);
        if (got?.status?.phase === 'Failed' && !want(got)) throw new Error(JSON.stringify(got.status));
        return want(got) ? got : undefined;
      },
      timeoutMs,
    );
  }

  /** Switches WAL and returns the segment that was closed. */
  const switchWal = async (name = 'wal') => psql(name, 'SELECT pg_walfile_name(pg_switch_wal())');

  before(async function () {
    this.timeout(300_000);
    api = new CustomObjects(fx.kc);
    minio = await privateMinio(stack.ctx, { name: 'pg-wal-outage', port: PORT });
    await minio.start();
    await createPrivateBucket(minio);
    const secret = (name: string, stringData: Record<string, string>) =>
      fx.core.createNamespacedSecret({ namespace: fx.namespace, body: { metadata: { name }, stringData } });
    await secret('outage-creds', { accessKey: minio.accessKey, secretKey: minio.secretKey });
    await secret('outage-ca', { 'ca.crt': readFileSync(minio.caFile, 'utf8') });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-wal-outage-${fx.namespace}` });
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-15000));
    await operator?.stop();
    await minio?.destroy();
    for (const line of figures) console.log(`      ${line}`);
  });

  it('the cluster archives into the private MinIO: Ready, its initial backup, rows A archived', async () => {
    const spec: PGClusterSpec = {
      storage: { size: '1Gi' },
      backups: {
        pgbackrest: {
          repos: [
            {
              name: 'repo1',
              s3: {
                bucket: minio.bucket,
                endpoint: minio.endpoint,
                region: 'us-east-1',
                uriStyle: 'path',
                caSecret: { name: 'outage-ca', key: 'ca.crt' },
                credentials: {
                  accessKeyId: { name: 'outage-creds', key: 'accessKey' },
                  secretAccessKey: { name: 'outage-creds', key: 'secretKey' },
                },
              },
            },
          ],
        },
      },
    };
    await api.create(KINDS.PGCluster, { metadata: { name: 'wal', namespace: fx.namespace }, spec });
    await cluster('wal', (c) => c?.status?.phase === 'Ready', 420_000);
    const initial = await waitFor(
      'PGBackup wal-initial finished',
      async () => {
        const b = await api.get<PGBackupObj>(KINDS.PGBackup, { namespace: fx.namespace, name: 'wal-initial' });
        return b?.status?.phase === 'completed' || b?.status?.phase === 'failed' ? b : undefined;
      },
      300_000,
    );
    expect(initial.status!.phase, initial.status!.message).to.equal('completed');
    await psql('wal', 'CREATE TABLE events (id serial primary key, batch text, at timestamptz DEFAULT now())');
    await psql('wal', "INSERT INTO events (batch) SELECT 'A' FROM generate_series(1, 100)");
    const segment = await switchWal();
    await waitFor('rows A archived', async () => (await psql('wal', 'SELECT last_archived_wal FROM pg_stat_archiver')) >= segment, 120_000);
  });

  it('MinIO stopped 3 minutes while WAL is written and switched: ContinuousArchiving False naming the store, the primary serves', async () => {
    await minio.stop();
    const stoppedAt = Date.now();
    await psql('wal', "INSERT INTO events (batch) SELECT 'B' FROM generate_series(1, 100)");
    await switchWal();
    await new Promise((r) => setTimeout(r, 1500));
    target = await psql('wal', `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await new Promise((r) => setTimeout(r, 1500));
    let flippedAt: number | undefined;
    let flipped: PGClusterObj | undefined;
    let c = 0;
    // Writes and switches all through the outage (every 15 s), watching the condition between them.
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      await psql('wal', `INSERT INTO events (batch) SELECT 'C' FROM generate_series(1, 50)`);
      c += 50;
      lastSwitched = await switchWal();
      const got = await getCluster('wal');
      if (!flippedAt && condition(got)?.status === 'False') {
        flippedAt = Date.now();
        flipped = got;
      }
      await new Promise((r) => setTimeout(r, 15_000));
    }
    expect(flipped, 'ContinuousArchiving went False during the outage').to.not.equal(undefined);
    const cond = condition(flipped)!;
    figures.push(
      `ContinuousArchiving False ${Math.round((flippedAt! - stoppedAt) / 1000)} s after MinIO stopped: ${cond.reason}: ${cond.message}`,
    );
    expect(cond.reason).to.equal('StorageUnreachable');
    expect(cond.message)
      .to.match(/repo1/)
      .and.match(/localhost:19094/);
    for (const c of [cond.message ?? '', JSON.stringify(flipped!.status)]) {
      expect(c).to.not.contain(minio.secretKey);
      expect(c).to.not.contain(minio.accessKey);
    }
    expect(flipped!.status!.phase).to.equal('Degraded');
    // The primary took every write, and holds the WAL PostgreSQL could not archive.
    expect(await psql('wal', "SELECT count(*) FROM events WHERE batch = 'C'")).to.equal(String(c));
    const failed = Number(await psql('wal', 'SELECT failed_count FROM pg_stat_archiver'));
    const backlog = Number(await psql('wal', "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"));
    figures.push(
      `after ${OUTAGE_MS / 1000} s of outage: ${backlog} WAL segments waiting on the primary, ${failed} failed archive attempts`,
    );
    expect(backlog).to.be.greaterThan(3);
    // The repo host answered throughout: the store is what was down, not the repo host.
    expect((await getCluster('wal'))!.status!.conditions!.find((x) => x.type === 'RepoHostReady')!.status).to.equal('True');
  });

  it('MinIO back: the backlog drains (archive max reaches the last switched segment) and ContinuousArchiving is True again', async () => {
    await minio.start();
    const backAt = Date.now();
    await waitFor(
      'the backlog archived',
      async () => (await psql('wal', 'SELECT last_archived_wal FROM pg_stat_archiver')) >= lastSwitched,
      600_000,
    );
    const drainedAt = Date.now();
    const c = await cluster(
      'wal',
      (got) =>
        condition(got)?.status === 'True' && got?.status?.phase === 'Ready' && (got.status.repos?.[0]?.archiveMax ?? '') >= lastSwitched,
      600_000,
    );
    figures.push(
      `after MinIO returned: backlog archived in ${Math.round((drainedAt - backAt) / 1000)} s, ContinuousArchiving True after ${Math.round((Date.now() - backAt) / 1000)} s (${condition(c)!.reason})`,
    );
    expect(condition(c)!.reason).to.equal('WALArchived');
    expect(Number(await psql('wal', "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"))).to.be.at.most(1);
  });

  it('a new cluster restored to T, a time inside the outage, has A and B and not C', async () => {
    const started = Date.now();
    await api.create(KINDS.PGCluster, {
      metadata: { name: 'pitr', namespace: fx.namespace },
      spec: {
        storage: { size: '1Gi' },
        dataSource: { postgresCluster: { clusterName: 'wal', repoName: 'repo1' }, target: { time: target } },
        backups: { pgbackrest: { initialBackup: false, repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
      },
    });
    const c = await cluster('pitr', (got) => !!got?.status?.restore?.readyAt && !!got.status.primary?.ready, 600_000);
    const r = c.status!.restore!;
    expect(r.phase).to.equal('Restored');
    expect(Date.parse(r.reachedTime!)).to.be.at.most(Date.parse(target));
    expect(await psql('pitr', 'SELECT batch || count(*) FROM events GROUP BY batch ORDER BY batch')).to.equal('A100\nB100');
    figures.push(
      `restore to ${target} (inside the outage): reached ${r.reachedLsn} at ${r.reachedTime}, RTO ${r.rtoSeconds} s, test step ${Math.round((Date.now() - started) / 1000)} s`,
    );
  });
});
