import { expect } from 'chai';
import type { V1Pod } from '@kubernetes/client-node';
import { inPlacePgPlan, planInPlace, withInPlaceRestore } from '../../../../runtime/controller/postgres/restore/pg-inplace-plan.js';
import { restoreContainerState } from '../../../../runtime/controller/postgres/restore/pg-inplace-instances.js';
import { otherRestore, restoreHolding } from '../../../../runtime/controller/postgres/restore/pg-restore-hold.js';
import { CONFIG_HASH_ANNOTATION, withHash } from '../../../../runtime/controller/postgres/cluster/pg-pods.js';
import { PGClusterReconciler } from '../../../../runtime/controller/postgres/cluster/pg-cluster-reconciler.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { PGInPlaceRestoreReconciler } from '../../../../runtime/controller/postgres/restore/pg-inplace-restore-reconciler.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { InfoStanza } from '../../../../runtime/controller/postgres/shared/pgbackrest-info.js';
import { restoreArgs } from '../../../../runtime/pg/restore.js';
import type { Pod } from '../../../../runtime/controller/kube/client.js';

const at = (iso: string) => Date.parse(iso) / 1000;
const backup = (label: string, stop: string, lsnStop: string) => ({
  label,
  type: 'full' as const,
  timestamp: { start: at(stop) - 10, stop: at(stop) },
  lsn: { start: '0/1000000', stop: lsnStop },
  database: { id: 1, 'repo-key': 1 },
});
const stanza: InfoStanza = {
  name: 'db',
  db: [{ id: 1, 'system-id': '7300000000000000001', version: '15', 'repo-key': 1 }],
  archive: [{ id: '15-1', min: '000000010000000000000001', max: '000000020000000000000009', database: { id: 1, 'repo-key': 1 } }],
  backup: [
    backup('20261205-010000F', '2026-12-05T01:00:00Z', '0/3000100'),
    backup('20261205-012000F', '2026-12-05T01:20:00Z', '0/8000100'),
  ],
};
const source = { stanza, key: 1, lastWalTime: at('2026-12-05T01:30:00Z') };
const spec = (extra: object = {}) => ({ cluster: { name: 'shop' }, repoName: 'repo1' as const, ...extra });

describe('PGRestore (in place): the plan checked against the cluster’s own repository', () => {
  it('a time inside the window picks the newest set before it and records the timeline it leaves', () => {
    const plan = planInPlace(spec({ target: { time: '2026-12-05T01:25:00Z' } }), source, undefined);
    expect(plan.ok).to.equal(true);
    if (!plan.ok) return;
    expect(plan.resolved).to.deep.include({ backupLabel: '20261205-012000F', previousTimeline: 2 });
    expect(plan.resolved.target).to.deep.include({ type: 'time' });
  });

  it('a target past the archive or before every backup is refused with the window', () => {
    const late = planInPlace(spec({ target: { time: '2026-12-05T02:00:00Z' } }), source, undefined);
    expect(late).to.include({ ok: false, reason: 'TargetOutsideRecoveryWindow' });
    const early = planInPlace(spec({ target: { time: '2026-12-05T00:00:00Z' } }), source, undefined);
    expect(early).to.include({ ok: false, reason: 'NoBackupBeforeTarget' });
  });

  it('a named set without a target stops where it is consistent; a set after the target or unknown is refused', () => {
    const named = planInPlace(spec(), source, '20261205-010000F');
    expect(named.ok && named.resolved).to.deep.include({
      backupLabel: '20261205-010000F',
      target: { type: 'immediate', exclusive: false },
    });
    const after = planInPlace(spec({ target: { time: '2026-12-05T01:10:00Z' } }), source, '20261205-012000F');
    expect(after).to.include({ ok: false, reason: 'BackupAfterTarget' });
    expect(planInPlace(spec(), source, '20991205-010000F')).to.include({ ok: false, reason: 'BackupNotFound' });
  });

  it('the plan runs --delta with the set, the target and the spec options', () => {
    const plan = inPlacePgPlan('uid-1', { backupLabel: 'L', target: { type: 'time', value: 'T' } }, 1, 'conf', ['--process-max=2']);
    const args = restoreArgs(plan);
    expect(args).to.include.members(['--delta', '--set=L', '--type=time', '--target=T', '--process-max=2', '--target-action=promote']);
  });

  it('a timeline goes to pgBackRest with the target; alone with a named set it replays that set to the end of the timeline', () => {
    const byTime = planInPlace(spec({ target: { time: '2026-12-05T01:25:00Z', timeline: '1' } }), source, undefined);
    expect(byTime.ok && byTime.resolved.target).to.deep.include({ type: 'time', timeline: '1' });
    const args = restoreArgs(inPlacePgPlan('uid-1', byTime.ok ? byTime.resolved : {}, 1, 'conf'));
    expect(args).to.include.members(['--type=time', '--target-timeline=1', '--set=20261205-012000F']);
    const toItsEnd = planInPlace(spec({ target: { timeline: '1' } }), source, '20261205-010000F');
    expect(toItsEnd.ok && toItsEnd.resolved.target).to.deep.include({ type: 'default', timeline: '1' });
    const endArgs = restoreArgs(inPlacePgPlan('uid-1', toItsEnd.ok ? toItsEnd.resolved : {}, 1, 'conf'));
    expect(endArgs).to.include.members(['--type=default', '--target-timeline=1', '--set=20261205-010000F']);
  });

  it('a PGRestore’s change reaches the PGCluster it names at once (the restoring primary is built on the next pass)', () => {
    const watch = new PGClusterReconciler().watches.find((w) => w.kind === KINDS.PGRestore)!;
    const restore = { metadata: { name: 'undo', namespace: 'shop-ns' }, spec: { cluster: { name: 'shop' }, repoName: 'repo1' } };
    expect(watch.toKeys(restore)).to.deep.equal([{ namespace: 'shop-ns', name: 'shop' }]);
    expect(watch.toKeys({ metadata: { name: 'odd', namespace: 'shop-ns' }, spec: {} })).to.deep.equal([]);
  });

  it('the set’s size is the copy’s total: resolved with the set a label names, handed to the plan for bytes and ETA', () => {
    const sized: InfoStanza = {
      ...stanza,
      backup: stanza.backup!.map((b, i) => ({ ...b, info: { size: (i + 1) * 1000, delta: (i + 1) * 1000 } })),
    };
    const named = planInPlace(spec(), { ...source, stanza: sized }, '20261205-010000F');
    expect(named.ok && named.resolved.backupSizeBytes).to.equal(1000);
    const byTime = planInPlace(spec({ target: { time: '2026-12-05T01:25:00Z' } }), { ...source, stanza: sized }, undefined);
    expect(byTime.ok && byTime.resolved.backupSizeBytes).to.equal(2000);
    const plan = inPlacePgPlan('uid-1', { backupLabel: 'L', backupSizeBytes: 2000, target: { type: 'immediate' } }, 1, 'conf');
    expect(plan).to.include({ bytesTotal: 2000, delta: true });
    expect(inPlacePgPlan('uid-1', { target: { type: 'immediate' } }, 1, 'conf')).to.not.have.property('bytesTotal');
  });

  it('the restoring primary keeps the plain primary’s config hash, so it is not replaced once restored', () => {
    const plain = withHash({
      metadata: { name: 'shop-1', annotations: {} },
      spec: { containers: [{ name: 'postgres', image: 'pg', volumeMounts: [{ name: 'data', mountPath: '/pgdata' }] }] },
    } as V1Pod);
    const plan = inPlacePgPlan('uid-1', { target: { type: 'immediate' }, backupLabel: 'L' }, 1, 'conf');
    const pod = withInPlaceRestore(plain, { plan, tlsSecret: 'tls' }, 'rewind');
    expect(pod.spec!.initContainers!.map((c) => c.name)).to.include('restore');
    expect(pod.metadata!.annotations![CONFIG_HASH_ANNOTATION]).to.equal(plain.metadata!.annotations![CONFIG_HASH_ANNOTATION]);
  });

  it('names the PGRestore on the restoring primary, so the PGRestore reconciler’s Pod watch finds it', () => {
    const plain = withHash({ metadata: { name: 'shop-1', namespace: 'ns' }, spec: { containers: [{ name: 'postgres' }] } } as V1Pod);
    const plan = inPlacePgPlan('uid-1', { target: { type: 'immediate' }, backupLabel: 'L' }, 1, 'conf');
    const pod = withInPlaceRestore(plain, { plan, tlsSecret: 'tls' }, 'rewind-to-monday');
    const watch = new PGInPlaceRestoreReconciler().watches.find((w) => w.kind === KINDS.Pod)!;
    expect(pod.metadata!.labels).to.have.property(watch.labelSelector!, 'true');
    expect(watch.toKeys(pod as KubeObject)).to.deep.equal([{ namespace: 'ns', name: 'rewind-to-monday' }]);
    expect(watch.toKeys(plain as KubeObject)).to.deep.equal([]);
  });

  it('reads the restore container: plain Pod, running, ended without a result, done, failed', () => {
    const pod = (statuses: object[], init = true) =>
      ({
        metadata: { name: 'shop-1' },
        spec: { containers: [], initContainers: init ? [{ name: 'restore' }] : [] },
        status: { initContainerStatuses: statuses },
      }) as Pod;
    expect(restoreContainerState(undefined)).to.deep.equal({ state: 'absent' });
    expect(restoreContainerState(pod([], false))).to.deep.equal({ state: 'plain' });
    expect(restoreContainerState(pod([{ name: 'restore', restartCount: 1, state: { running: {} } }]))).to.deep.equal({
      state: 'running',
      restarts: 1,
    });
    const ended = (exitCode: number, message?: string) =>
      pod([{ name: 'restore', restartCount: 2, state: { terminated: { exitCode, message } } }]);
    expect(restoreContainerState(ended(137))).to.deep.equal({ state: 'interrupted', restarts: 2 });
    expect(restoreContainerState(ended(0, '{"outcome":"pg-restored","reachedTimeline":2}')).state).to.equal('done');
    expect(restoreContainerState(ended(1, '{"outcome":"failed","reason":"TargetNotReached"}')).state).to.equal('failed');
  });
});

describe('PGRestore (in place): the hold on the cluster is read from the PGRestore it names', () => {
  const cluster = (hold?: string) =>
    ({ metadata: { name: 'shop', namespace: 'ns', uid: 'c', annotations: hold ? { 'postgres.silo.io/restore': hold } : {} } }) as never;
  const restore = (name: string, uid: string, phase?: string) => ({
    metadata: { name, namespace: 'ns', uid },
    spec: {},
    status: { phase },
  });
  const client = (objects: ReturnType<typeof restore>[]) =>
    ({ get: async (_kind: unknown, key: { name: string }) => objects.find((o) => o.metadata.name === key.name) }) as never;

  it('holds while the named PGRestore works or failed; not once it is gone, replaced, done or rebuilding', async () => {
    const holding = async (phase: string | undefined, objects = [restore('r', 'u1', phase)], hold = 'r/u1') =>
      !!(await restoreHolding(client(objects), cluster(hold)));
    for (const phase of [undefined, 'Pending', 'Resolved', 'Stopping', 'Restoring', 'Recovering', 'Failed'])
      expect(await holding(phase), String(phase)).to.equal(true);
    for (const phase of ['Rebuilding', 'Succeeded', 'Refused']) expect(await holding(phase), phase).to.equal(false);
    expect(await holding('Restoring', [])).to.equal(false);
    expect(await holding('Restoring', [restore('r', 'u2', 'Restoring')])).to.equal(false);
    expect(await restoreHolding(client([]), cluster())).to.equal(undefined);
  });

  it('a second PGRestore waits for a working holder and takes over a failed one', async () => {
    const second = restore('s', 'u9') as never;
    expect(await otherRestore(client([restore('r', 'u1', 'Restoring')]), cluster('r/u1'), second)).to.equal('r');
    expect(await otherRestore(client([restore('r', 'u1', 'Failed')]), cluster('r/u1'), second)).to.equal(undefined);
  });
});
