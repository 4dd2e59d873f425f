/**
 * The operator as a process with its ServiceAccount token: it becomes ready,
 * takes its Lease, serves its metrics, and on SIGTERM exits 0 and releases the
 * Lease so a standby can take over at once.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { OPERATOR_NAMESPACE, startOperator, type OperatorProcess } from '../../support/operator-process.js';
import { useKube, waitFor } from '../kube/fixture.js';
import { deleteLease, readLease, scrape, scrapeSum } from './leases.js';

describe('controller: the operator process', function () {
  this.timeout(180_000);
  const fx = useKube('ctl-proc', { withKubelet: false });
  const leaseName = `silo-test-proc-${randomBytes(3).toString('hex')}`;
  let operator: OperatorProcess | undefined;

  after(async () => {
    await operator?.kill();
    if (fx.kc) await deleteLease(fx.kc, leaseName);
  });

  it('becomes ready with the ServiceAccount token, leads, serves metrics, and on SIGTERM exits 0 and releases the Lease', async () => {
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: leaseName });
    await waitFor('/readyz 200', async () => (await fetch(operator!.readyUrl)).status === 200, 60_000);
    await waitFor('silo_leader 1', async () => (await scrape(operator!.metricsUrl, 'silo_leader')) === 1, 30_000);
    const lease = await readLease(fx.kc, leaseName);
    expect(lease?.spec?.holderIdentity).to.equal(operator.identity);
    expect(lease?.spec?.leaseDurationSeconds).to.equal(15);

    const text = await (await fetch(operator.metricsUrl)).text();
    for (const name of [
      'silo_reconcile_total',
      'silo_reconcile_duration_seconds',
      'silo_workqueue_depth',
      'silo_workqueue_retries_total',
      'silo_leader',
      'silo_backup_duration_seconds',
      'silo_backup_size_bytes',
      'silo_backup_last_success_timestamp_seconds',
      'silo_backup_last_failure_timestamp_seconds',
      'silo_backups_total',
      'process_resident_memory_bytes',
    ])
      expect(text, name).to.match(new RegExp(`^# TYPE ${name} `, 'm'));

    const logs = operator.logs().trim().split('\n');
    for (const line of logs) expect(() => JSON.parse(line), `not a JSON log line: ${line}`).not.to.throw();
    expect(logs.some((l) => JSON.parse(l).msg === 'became leader')).to.equal(true);

    await operator.stop();
    expect(await operator.exited).to.deep.equal({ code: 0, signal: null });
    const released = await readLease(fx.kc, leaseName);
    expect(released?.spec?.holderIdentity ?? '').to.equal('');
  });

  it('exits non-zero at once when another holder takes its Lease', async () => {
    const stolen = `${leaseName}-stolen`;
    const o = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: stolen });
    try {
      await waitFor('silo_leader 1', async () => (await scrape(o.metricsUrl, 'silo_leader')) === 1, 30_000);
      const coordination = fx.kc.makeApiClient(CoordinationV1Api);
      const lease = (await readLease(fx.kc, stolen))!;
      await coordination.replaceNamespacedLease({
        namespace: OPERATOR_NAMESPACE,
        name: stolen,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: 'someone-else' } },
      });
      const replacedAt = Date.now();
      const exit = await Promise.race([o.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
      expect(exit).to.deep.equal({ code: 1, signal: null });
      // The next renew (every 2 s) sees the other holder.
      expect(Date.now() - replacedAt).to.be.below(5000);
      expect(o.logs()).to.include('"lost leadership"');
    } finally {
      await o.kill();
      await deleteLease(fx.kc, stolen);
    }
  });

  it('watches only the cluster-scoped objects that match --cluster-scoped-selector', async () => {
    const tag = randomBytes(3).toString('hex');
    const storage = `ctl-proc-${tag}`;
    const custom = fx.kc.makeApiClient(CustomObjectsApi);
    const coords = { group: 'backup-operator.io', version: 'v1', plural: 'backupstorages' };
    const o = await startOperator({
      watchNamespaces: [fx.namespace],
      leaderElectionId: `${leaseName}-sel`,
      clusterScopedSelector: `silo-test=${tag}`,
    });
    try {
      await waitFor('/readyz 200', async () => (await fetch(o.readyUrl)).status === 200, 60_000);
      await custom.createClusterCustomObject({
        ...coords,
        body: {
          apiVersion: 'backup-operator.io/v1',
          kind: 'BackupStorage',
          metadata: { name: storage },
          spec: {
            type: 's3',
            parameters: { bucket: 'none', endpoint: 'http://127.0.0.1:9' },
            credentials: { name: 'absent', namespace: fx.namespace },
          },
        },
      });
      await new Promise((r) => setTimeout(r, 5000));
      expect(
        await scrapeSum(o.metricsUrl, 'silo_reconcile_total', 'controller="backup-storage"'),
        'reconciled an unlabelled BackupStorage',
      ).to.equal(0);
      await custom.patchClusterCustomObject(
        { ...coords, name: storage, body: { metadata: { labels: { 'silo-test': tag } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await waitFor(
        'a reconcile of the labelled BackupStorage',
        async () => (await scrapeSum(o.metricsUrl, 'silo_reconcile_total', 'controller="backup-storage"')) > 0,
        30_000,
      );
    } finally {
      await o.stop();
      await deleteLease(fx.kc, `${leaseName}-sel`);
      await custom.deleteClusterCustomObject({ ...coords, name: storage }).catch(() => undefined);
      // A finalizer the reconciler may have added must not keep the object forever.
      await custom
        .patchClusterCustomObject(
          { ...coords, name: storage, body: { metadata: { finalizers: null } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )
        .catch(() => undefined);
    }
  });
});
