import { expect } from 'chai';
import { Chart, Testing } from 'cdk8s';
import { PGCluster } from '../../../../src/constructs/pg-cluster.js';
import {
  planRestore,
  segmentEndLsn,
  sharedRepository,
  utcTarget,
  lsnValue,
} from '../../../../runtime/controller/postgres/cluster/pg-restore-plan.js';
import { restoreConfig, withRestoreInit } from '../../../../runtime/controller/postgres/cluster/pg-restore-pod.js';
import { primaryPod } from '../../../../runtime/controller/postgres/cluster/pg-pods.js';
import type { InfoStanza } from '../../../../runtime/controller/postgres/shared/pgbackrest-info.js';
import { RESTORE_PROCESS_MAX_CAP, restoreArgs, TARGET_NOT_REACHED } from '../../../../runtime/pg/restore.js';
import { lastProgress } from '../../../../runtime/controller/postgres/cluster/pg-restore.js';
import { segmentTime, walTimeArgs } from '../../../../runtime/pg/wal-time.js';

const at = (iso: string) => Date.parse(iso) / 1000;
const backup = (label: string, stop: string, lsnStop: string, key = 1) => ({
  label,
  type: 'full' as const,
  timestamp: { start: at(stop) - 10, stop: at(stop) },
  lsn: { start: '0/1000000', stop: lsnStop },
  database: { id: 1, 'repo-key': key },
});
const stanza: InfoStanza = {
  name: 'db',
  db: [{ id: 1, 'system-id': '7300000000000000001', version: '15', 'repo-key': 1 }],
  archive: [{ id: '15-1', min: '000000010000000000000001', max: '000000010000000000000009', database: { id: 1, 'repo-key': 1 } }],
  backup: [
    backup('20261205-010000F', '2026-12-05T01:00:00Z', '0/3000100'),
    backup('20261205-010000F_20261205-011000I', '2026-12-05T01:10:00Z', '0/6000100'),
    backup('20261205-012000F', '2026-12-05T01:20:00Z', '0/8000100', 2),
  ],
};
const source = { stanza, key: 1, lastWalTime: at('2026-12-05T01:30:00Z') };
const ds = (target?: object) => ({ postgresCluster: { clusterName: 'shop', repoName: 'repo1' as const }, ...(target ? { target } : {}) });

describe('PostgreSQL restore plan: the target checked against the source repository before anything runs', () => {
  it('a time inside the window picks the newest backup of that repository that ended before it', () => {
    const plan = planRestore(ds({ time: '2026-12-05T02:15:00.123456+01:00' }), source);
    expect(plan.ok).to.equal(true);
    if (!plan.ok) return;
    expect(plan.resolved.backupLabel).to.equal('20261205-010000F_20261205-011000I');
    expect(plan.resolved.target).to.deep.equal({ type: 'time', value: '2026-12-05 01:15:00.123456+00', exclusive: false });
    expect(plan.resolved.window).to.deep.equal({
      from: '2026-12-05T01:00:00Z',
      fromLsn: '0/3000100',
      to: '2026-12-05T01:30:00Z',
      archiveMax: '000000010000000000000009',
    });
    expect(plan.resolved.systemIdentifier).to.equal('7300000000000000001');
  });

  it('a time after the last archived WAL is TargetOutsideRecoveryWindow, naming both bounds', () => {
    const plan = planRestore(ds({ time: '2026-12-05T01:31:00Z' }), source);
    expect(plan).to.include({ ok: false, reason: 'TargetOutsideRecoveryWindow' });
    if (plan.ok) return;
    expect(plan.detail).to.contain('2026-12-05T01:00:00Z').and.contain('2026-12-05T01:30:00Z');
  });

  it('a time before every backup ended is NoBackupBeforeTarget, naming both bounds; an empty repository too', () => {
    const plan = planRestore(ds({ time: '2026-12-05T00:59:59Z' }), source);
    expect(plan).to.include({ ok: false, reason: 'NoBackupBeforeTarget' });
    if (!plan.ok) expect(plan.detail).to.contain('2026-12-05T01:00:00Z').and.contain('2026-12-05T01:30:00Z');
    expect(planRestore(ds(), { stanza: { name: 'db' }, key: 1 })).to.include({ ok: false, reason: 'NoBackupBeforeTarget' });
  });

  it('an LSN is checked against the backups stop LSNs and the end of the last archived segment', () => {
    expect(segmentEndLsn('000000010000000000000009')).to.equal(lsnValue('0/A000000'));
    const inside = planRestore(ds({ lsn: '0/7000000', exclusive: true }), source);
    expect(inside.ok && inside.resolved.backupLabel).to.equal('20261205-010000F_20261205-011000I');
    expect(inside.ok && inside.resolved.target).to.deep.equal({ type: 'lsn', value: '0/7000000', exclusive: true });
    expect(planRestore(ds({ lsn: '0/A000001' }), source)).to.include({ reason: 'TargetOutsideRecoveryWindow' });
    expect(planRestore(ds({ lsn: '0/2000000' }), source)).to.include({ reason: 'NoBackupBeforeTarget' });
  });

  it('no target replays to the end of the archive from the newest backup; utcTarget keeps every fraction digit', () => {
    const plan = planRestore(ds(), source);
    expect(plan.ok && plan.resolved.target).to.deep.equal({ type: 'default', exclusive: false });
    expect(utcTarget('2026-12-05T00:00:00.000001-02:30').text).to.equal('2026-12-05 02:30:00.000001+00');
    expect(() => utcTarget('2026-12-05T00:00:00')).to.throw(/zone/);
  });

  it('the restore reads the source repository through the source repo host only, and runs with the resolved set and target', () => {
    const conf = restoreConfig({
      namespace: 'src',
      cluster: 'shop',
      repo: { name: 'repo2', volume: { volumeClaimSpec: { size: '1Gi' } } },
      repoHostHost: 'shop-repo-host.shop-repo.src.svc',
    });
    expect(conf).to.contain('repo2-host=shop-repo-host.shop-repo.src.svc').and.contain('repo2-path=/pgbackrest/repo2/silo/src/shop');
    expect(conf).to.not.match(/archive-push|archive-async|tls-server/);
    const args = restoreArgs({ id: 'u', repo: 2, set: 'L', type: 'time', target: '2026-12-05 01:15:00+00', conf });
    expect(args).to.include.members(['--repo=2', '--set=L', '--type=time', '--target=2026-12-05 01:15:00+00', '--target-action=promote']);
    expect(restoreArgs({ id: 'u', repo: 1, type: 'default', conf })).to.not.include('--target-action=promote');
    expect(restoreArgs({ id: 'u', repo: 1, type: 'time', target: 'T', timeline: '1', conf })).to.include('--target-timeline=1');
    expect(restoreArgs({ id: 'u', repo: 1, type: 'default', conf }).some((a) => a.startsWith('--target-timeline'))).to.equal(false);
    expect(TARGET_NOT_REACHED.test('FATAL:  recovery ended before configured recovery target was reached')).to.equal(true);
  });

  it('the copy runs one pgBackRest process per core it sees, up to the cap, unless the restore options set process-max', () => {
    const plan = { id: 'u', repo: 1, type: 'default', conf: '' };
    expect(restoreArgs(plan, 2)).to.include('--process-max=2');
    expect(restoreArgs(plan, 1)).to.include('--process-max=1');
    expect(restoreArgs(plan, 64)).to.include(`--process-max=${RESTORE_PROCESS_MAX_CAP}`);
    const own = restoreArgs({ ...plan, options: ['--process-max=8'] }, 2).filter((a) => a.startsWith('--process-max'));
    expect(own).to.deep.equal(['--process-max=8']);
  });

  it('the primary gets the restore init container with an optional source certificate and no storage credential', () => {
    const pod = primaryPod({
      cluster: 'copy',
      namespace: 'n',
      owner: { apiVersion: 'v1', kind: 'PGCluster', name: 'copy', uid: 'u' },
      spec: {
        storage: { size: '1Gi' },
        backups: { pgbackrest: { repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
      },
      pgbackrestConf: '',
    });
    const plan = { id: 'u', repo: 1, type: 'default', conf: 'x' };
    const restoring = withRestoreInit(pod, { plan, tlsSecret: 'copy-pgbackrest-restore-tls' });
    const init = restoring.spec!.initContainers![0];
    expect(init.command).to.deep.equal(['silo', 'pg', 'restore']);
    expect(init.volumeMounts!.map((m) => m.name)).to.include.members(['data', 'run', 'superuser', 'pgbackrest-restore-tls']);
    expect(restoring.spec!.volumes!.find((v) => v.name === 'pgbackrest-restore-tls')!.secret!.optional).to.equal(true);
    expect(JSON.stringify(init)).to.not.match(/S3_KEY|AZURE_KEY/);
    expect(restoring.metadata!.annotations!['postgres.silo.io/config-hash']).to.not.equal(
      pod.metadata!.annotations!['postgres.silo.io/config-hash'],
    );
  });

  // The copy's figures from pgBackRest's lines: test/unit/pg/restore-progress.test.ts.
  it('the operator reads the last progress line of the log', () => {
    const log = [
      '{"level":"info","msg":"restore progress","step":"copying","percent":40}',
      'some postgres line',
      '{"level":"info","msg":"restore progress","step":"recovering"}',
      '{"level":"info","msg":"restore progress","ste',
    ].join('\n');
    expect(lastProgress(log)).to.deep.equal({ step: 'recovering' });
    expect(lastProgress(undefined)).to.equal(undefined);
  });

  it("a restored cluster's repository that is one of the source's (same store and path) is found; default paths never are", () => {
    const s3 = (path?: string) => ({
      name: 'repo2' as const,
      ...(path ? { path } : {}),
      s3: {
        bucket: 'b',
        endpoint: 'https://minio:9000',
        region: 'r',
        credentials: { accessKeyId: { name: 'c', key: 'a' }, secretAccessKey: { name: 'c', key: 's' } },
      },
    });
    const source = { namespace: 'n', cluster: 'src', repos: [s3()] };
    expect(sharedRepository({ namespace: 'n', cluster: 'copy', repos: [{ ...s3(), name: 'repo1' }] }, source)).to.equal(undefined);
    expect(sharedRepository({ namespace: 'n', cluster: 'copy', repos: [{ ...s3('/silo/n/src'), name: 'repo1' }] }, source)).to.deep.equal({
      own: 'repo1',
      source: 'repo2',
    });
    const volume = { name: 'repo1' as const, path: '/x', volume: { volumeClaimSpec: { size: '1Gi' } } };
    expect(sharedRepository({ namespace: 'n', cluster: 'copy', repos: [volume] }, { ...source, repos: [volume] })).to.equal(undefined);
  });

  it('the WAL time comes from repo-ls of the segment directory', () => {
    expect(walTimeArgs({ repo: 1, archiveId: '15-1', segment: '000000010000000000000009' })).to.include('archive/db/15-1/0000000100000000');
    expect(() => walTimeArgs({ repo: 1, archiveId: '15-1', segment: '../etc' })).to.throw(/segment/);
    const listing = {
      '.': { type: 'path' },
      '000000010000000000000009-ab.zst': { type: 'file', time: 5 },
      '00000001000000000000000A-cd.zst': { type: 'file', time: 9 },
    };
    expect(segmentTime(listing, '000000010000000000000009')).to.equal(5);
    expect(segmentTime(listing, '00000001000000000000000B')).to.equal(undefined);
  });
});

describe('PGCluster.spec.dataSource at synth time', () => {
  const base = {
    storage: { size: '1Gi' },
    backups: { pgbackrest: { repos: [{ name: 'repo1' as const, volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
  };
  const synth = (target: object): string | undefined => {
    const app = Testing.app();
    new PGCluster(new Chart(app, 'test'), 'copy', {
      ...base,
      dataSource: { postgresCluster: { clusterName: 'src', repoName: 'repo1' }, target },
    });
    try {
      app.synth();
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  };

  it('takes a time with a zone; refuses one without, naming the field; takes exactly one target', () => {
    expect(synth({ time: '2026-12-05T01:00:00.5+01:00', exclusive: true })).to.equal(undefined);
    expect(synth({ time: '2026-12-05T01:00:00' })).to.match(/spec\.dataSource\.target\.time: .*needs a zone/);
    expect(synth({ time: '2026-12-05T01:00:00Z', lsn: '0/1' })).to.match(/exactly one of time, lsn, xid, name or immediate/);
    expect(synth({ lsn: 'nope' })).to.match(/spec\.dataSource\.target\.lsn/);
  });

  it('takes a timeline with a time, lsn, xid or name, or alone; refuses it with immediate and refuses what is not a timeline', () => {
    expect(synth({ time: '2026-12-05T01:00:00Z', timeline: '1' })).to.equal(undefined);
    expect(synth({ name: 'before-upgrade', timeline: 'current' })).to.equal(undefined);
    expect(synth({ timeline: '3' })).to.equal(undefined);
    expect(synth({ immediate: true, timeline: '1' })).to.match(/timeline does not go with immediate/);
    expect(synth({ time: '2026-12-05T01:00:00Z', lsn: '0/1', timeline: '1' })).to.match(/exactly one of time, lsn, xid, name or immediate/);
    expect(synth({ exclusive: true })).to.match(/exactly one of time, lsn, xid, name or immediate/);
    expect(synth({ timeline: '0' })).to.match(/spec\.dataSource\.target\.timeline/);
    expect(synth({ timeline: 'newest' })).to.match(/spec\.dataSource\.target\.timeline/);
  });
});
