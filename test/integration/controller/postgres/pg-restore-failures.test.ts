/**
 * A restore's failure surfaces on the real stack (issue 15), each its own reason: the operator as a process, real
 * PostgreSQL 15 and pgBackRest 2.45 under the process kubelet, MinIO over TLS behind a valve proxy. One source
 * cluster serves every case; each case is a new restored PGCluster:
 *   - the store unreachable (the valve refusing): SourceRepositoryUnreachable, waited on before any Pod or PVC,
 *     and the restore resolves once the store answers;
 *   - refusing credentials (a bucket restore whose Secret holds a wrong key): StorageAuthFailed, before any
 *     database Pod or PVC;
 *   - the restored cluster's own repository path holding another database's stanza: StanzaMismatch, nothing
 *     written there;
 *   - a restore point that was never created: TargetNotReached, the cluster fails once and does not loop;
 *   - an in-place restore (PGRestore) of the source while a backup of it runs (its upload slowed by the valve): it waits with
 *     WaitingForBackup, stops nothing until the backup completed, then restores.
 * (The window, the passphrase and a path without a stanza are in pg-restore.test.ts and pg-restore-bucket.test.ts;
 * RestoreInterrupted is in pg-restore-kills.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, chownSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { PGBackupStatus, PGInPlaceRestoreStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgBin } from '../../../stack/components/postgres.js';
import { s3Client } from '../../../stack/lib/s3.js';
import { useStack } from '../../../stack/mocha.js';
import { waitFor } from '../../kube/fixture.js';
import { createSource, DIGEST_SQL, restoredSpec, useRestoreSource, writeRowsArchived } from './pg-restore-source.js';

const stack = useStack('kube', 'kubelet', 'minio');

describe('PGCluster restore failure surfaces on the real stack: unreachable, refused credentials, stanza mismatch, target not reached', function () {
  this.timeout(1_500_000);
  const s = useRestoreSource(stack, 'pg-rfail');
  const ns = () => s.fx.namespace;
  const took = (from: number) => `${Math.round((Date.now() - from) / 1000)} s`;
  const podsOf = async (name: string) =>
    (await s.fx.core.listNamespacedPod({ namespace: ns(), labelSelector: `postgres.silo.io/cluster=${name}` })).items.map(
      (p) => p.metadata!.name!,
    );
  const pvcsOf = async (name: string) =>
    (await s.fx.core.listNamespacedPersistentVolumeClaim({ namespace: ns(), labelSelector: `postgres.silo.io/cluster=${name}` })).items;
  const eventReasons = async (name: string) =>
    (await s.fx.core.listNamespacedEvent({ namespace: ns(), fieldSelector: `involvedObject.name=${name}` })).items.map((e) => e.reason);
  const keysUnder = async (prefix: string) => {
    const client = s3Client({
      endpoint: stack.env().MINIO_TLS_ENDPOINT,
      caFile: stack.env().MINIO_CA_FILE,
      accessKeyId: stack.env().MINIO_ACCESS_KEY,
      secretAccessKey: stack.env().MINIO_SECRET_KEY,
    });
    const page = await client.send(new ListObjectsV2Command({ Bucket: stack.env().MINIO_BUCKET, Prefix: prefix.replace(/^\//, '') }));
    return (page.Contents ?? []).map((o) => `${o.Key}:${o.ETag}`).sort();
  };

  it('the source: repo1 on MinIO behind the valve, its initial backup, rows archived', async () => {
    const started = Date.now();
    await createSource(s);
    await writeRowsArchived(s, 1, 2000);
    console.log(`      source ready in ${took(started)}`);
  });

  it('the store unreachable: SourceRepositoryUnreachable, waited on with nothing created; resolved once it answers', async () => {
    const t0 = Date.now();
    s.valve.refuse();
    try {
      await s.api.create(KINDS.PGCluster, { metadata: { name: 'unreach', namespace: ns() }, spec: restoredSpec() });
      const c = await s.phase('unreach', (got) => got?.status?.restore?.reason === 'SourceRepositoryUnreachable', 240_000);
      expect(c.status!.phase, 'a wait, not a failure: the store may come back').to.equal('Initializing');
      expect(c.status!.restore!.resolvedAt).to.equal(undefined);
      expect(c.status!.restore!.message).to.match(/could not be read through its repo host/);
      expect(c.status!.restore!.message).to.not.contain(stack.env().MINIO_SECRET_KEY);
      expect(await podsOf('unreach')).to.deep.equal([]);
      expect(await pvcsOf('unreach')).to.deep.equal([]);
    } finally {
      s.valve.accept();
    }
    const resolved = await s.phase('unreach', (got) => !!got?.status?.restore?.resolvedAt, 180_000);
    expect(resolved.status!.restore!.backupLabel).to.match(/F$/);
    console.log(`      unreachable, then resolved once the store answered: ${took(t0)}`);
    await s.api.delete(KINDS.PGCluster, { namespace: ns(), name: 'unreach' });
  });

  it('refusing credentials: a bucket restore whose Secret holds a wrong key fails with StorageAuthFailed before any database Pod or PVC', async () => {
    const t0 = Date.now();
    await s.fx.core.createNamespacedSecret({
      namespace: ns(),
      body: { metadata: { name: 'wrong-creds' }, stringData: { accessKey: stack.env().MINIO_ACCESS_KEY, secretKey: 'not-the-secret-key' } },
    });
    const spec = restoredSpec();
    spec.dataSource = { pgbackrest: { repo: s.minioRepo(s.path(), 'wrong-creds') } };
    await s.api.create(KINDS.PGCluster, { metadata: { name: 'badkey', namespace: ns() }, spec });
    const c = await s.phase('badkey', (got) => got?.status?.restore?.reason === 'StorageAuthFailed', 240_000);
    expect(c.status!.phase).to.equal('Failed');
    expect(c.status!.restore!.resolvedAt).to.equal(undefined);
    expect(c.status!.restore!.message).to.not.contain('not-the-secret-key').and.not.contain(stack.env().MINIO_SECRET_KEY);
    expect(c.status!.conditions!.find((x) => x.type === 'Ready')).to.include({ status: 'False', reason: 'StorageAuthFailed' });
    await waitFor(
      'a StorageAuthFailed Event',
      async () => ((await eventReasons('badkey')).includes('StorageAuthFailed') ? true : undefined),
      30_000,
    );
    // Only the restore source (in the repo host's place) ran: no primary, no PVC.
    expect((await podsOf('badkey')).filter((p) => p !== 'badkey-repo-host')).to.deep.equal([]);
    expect(await pvcsOf('badkey')).to.deep.equal([]);
    console.log(`      StorageAuthFailed in ${took(t0)}`);
    await s.api.delete(KINDS.PGCluster, { namespace: ns(), name: 'badkey' });
  });

  it('StanzaMismatch: the restored cluster’s own repository path holds another database’s stanza; nothing is written there', async () => {
    const t0 = Date.now();
    // Another database: a fresh initdb (its own system id), its stanza db made by hand at the path.
    const foreignData = mkdtempSync(join(tmpdir(), 'silo-pg-foreign-'));
    // The other database's data directory is only pgBackRest's to read at stanza-create: gone after the test.
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(foreignData, uid, gid);
      execFileSync(pgBin('initdb'), ['-D', join(foreignData, 'pg'), '-U', 'postgres', '--no-sync'], { uid, gid, stdio: 'ignore' });
      const foreignPath = `/silo/${ns()}/foreign`;
      const created = await s.pgbackrestOn(foreignPath, [`--pg1-path=${join(foreignData, 'pg')}`, '--no-online', 'stanza-create']);
      expect(created.code, created.stdout + created.stderr).to.equal(0);
      const before = await keysUnder(foreignPath);
      expect(before.length).to.be.greaterThan(0);
      const spec = restoredSpec(undefined, { ...s.minioRepo(foreignPath) });
      await s.api.create(KINDS.PGCluster, { metadata: { name: 'mismatch', namespace: ns() }, spec });
      const c = await s.phase('mismatch', (got) => got?.status?.phase === 'Failed', 600_000);
      expect(c.status!.restore!.phase, 'the copy itself succeeded').to.equal('Restored');
      expect(c.status!.conditions!.find((x) => x.type === 'StanzaReady')).to.include({ status: 'False', reason: 'StanzaMismatch' });
      expect(c.status!.conditions!.find((x) => x.type === 'Ready')).to.include({ status: 'False', reason: 'StanzaMismatch' });
      expect(c.status!.conditions!.find((x) => x.type === 'StanzaReady')!.message).to.match(/do not match|another database/);
      // Still refused a while later, and the other database's stanza holds exactly what it held.
      await new Promise((r) => setTimeout(r, 20_000));
      expect((await s.getCluster('mismatch'))!.status!.phase).to.equal('Failed');
      expect(await keysUnder(foreignPath)).to.deep.equal(before);
      console.log(`      StanzaMismatch after the restore in ${took(t0)}; ${before.length} objects of the other stanza unchanged`);
      await s.api.delete(KINDS.PGCluster, { namespace: ns(), name: 'mismatch' });
    } finally {
      rmSync(foreignData, { recursive: true, force: true });
    }
  });

  it('a restore point never created: TargetNotReached once; the cluster fails cleanly and does not loop', async () => {
    const t0 = Date.now();
    await s.api.create(KINDS.PGCluster, { metadata: { name: 'noname', namespace: ns() }, spec: restoredSpec({ name: 'never-created' }) });
    const c = await s.phase('noname', (got) => got?.status?.restore?.reason === 'TargetNotReached', 600_000);
    const failedAt = Date.now();
    expect(c.status!.phase).to.equal('Failed');
    expect(c.status!.restore!.phase).to.equal('Failed');
    expect(c.status!.restore!.message).to.match(/recovery ended before the configured recovery target was reached/);
    await waitFor(
      'a TargetNotReached Event',
      async () => ((await eventReasons('noname')).includes('TargetNotReached') ? true : undefined),
      30_000,
    );
    // No loop: for 30 s no primary comes back, the phase stays, one Event.
    await new Promise((r) => setTimeout(r, 30_000));
    const later = (await s.getCluster('noname'))!;
    expect(later.status!.phase).to.equal('Failed');
    expect(later.status!.restore!.reason).to.equal('TargetNotReached');
    expect(await podsOf('noname')).to.not.include('noname-1');
    const events = (await s.fx.core.listNamespacedEvent({ namespace: ns(), fieldSelector: 'involvedObject.name=noname' })).items.filter(
      (e) => e.reason === 'TargetNotReached',
    );
    expect(events.reduce((n, e) => n + (e.count ?? 1), 0)).to.equal(1);
    console.log(`      TargetNotReached in ${Math.round((failedAt - t0) / 1000)} s, still Failed 30 s later with no primary`);
    await s.api.delete(KINDS.PGCluster, { namespace: ns(), name: 'noname' });
  });

  it('an in-place restore while a backup runs waits for it (WaitingForBackup), stops nothing before it completed, then restores', async () => {
    const t0 = Date.now();
    const key = (name: string) => ({ namespace: ns(), name });
    const srcPod = async () => (await s.fx.core.readNamespacedPod({ namespace: ns(), name: 'src-1' })).metadata!.uid;
    const before = await srcPod();
    const rows = await s.psql('src', DIGEST_SQL);
    // The backup's upload crawls through the valve (a few KiB of info and WAL reads still pass in time).
    s.valve.uploadRate(64 * 1024);
    await s.api.create(KINDS.PGBackup, {
      metadata: { name: 'busy', namespace: ns() },
      spec: { cluster: { name: 'src' }, repoName: 'repo1', type: 'full' },
    });
    await waitFor(
      'the backup holding the lock',
      async () => ((await s.getCluster('src'))?.metadata?.annotations?.['postgres.silo.io/backup-lock'] ?? '').startsWith('busy/'),
      120_000,
    );
    await s.api.create(KINDS.PGRestore, {
      metadata: { name: 'while-busy', namespace: ns() },
      spec: { cluster: { name: 'src' }, repoName: 'repo1' },
    });
    const getRestore = () => s.api.get<KubeObject & { status?: PGInPlaceRestoreStatus }>(KINDS.PGRestore, key('while-busy'));
    const waiting = await waitFor(
      'the PGRestore waiting for the backup',
      async () => {
        const r = await getRestore();
        return r?.status?.reason === 'WaitingForBackup' ? r.status : undefined;
      },
      120_000,
    );
    expect(waiting.message).to.contain('PGBackup busy');
    await new Promise((r) => setTimeout(r, 3000));
    expect((await getRestore())!.status!.startedAt, 'nothing stopped while the backup runs').to.equal(undefined);
    expect(await srcPod()).to.equal(before);
    s.valve.uploadRate(undefined);
    const backup = await waitFor(
      'PGBackup busy finished',
      async () => {
        const b = await s.api.get<KubeObject & { status?: PGBackupStatus }>(KINDS.PGBackup, key('busy'));
        return ['completed', 'failed'].includes(b?.status?.phase ?? '') ? b!.status! : undefined;
      },
      300_000,
    );
    expect(backup.phase, backup.message).to.equal('completed');
    const done = await waitFor(
      'PGRestore while-busy finished',
      async () => {
        const r = (await getRestore())?.status;
        if (r?.phase === 'Failed' || r?.phase === 'Refused') throw new Error(JSON.stringify(r));
        return r?.phase === 'Succeeded' ? r : undefined;
      },
      600_000,
    );
    expect(Date.parse(done.startedAt!)).to.be.at.least(Date.parse(backup.backupStoppedAt ?? backup.completedAt ?? ''));
    // No target and no backup named: replay to the end of the archive, the same rows on a new timeline.
    expect(await s.psql('src', DIGEST_SQL)).to.equal(rows);
    console.log(`      in-place restore waited for the running backup and finished in ${took(t0)} (RTO ${done.rtoSeconds} s)`);
  });

  it('afterwards `pgbackrest verify` of the source repository is clean', async () => {
    const r = await s.verify();
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/verify command end: completed successfully/);
  });
});
