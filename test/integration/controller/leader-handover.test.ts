/**
 * Two operator processes with one leader-election id: exactly one leads and
 * only it reconciles; SIGKILL of the leader hands over to the standby, which
 * then reconciles the objects. Prints the measured hand-over time.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { startOperator, type OperatorProcess } from '../../support/operator-process.js';
import { useKube, waitFor } from '../kube/fixture.js';
import { deleteLease, readLease, scrape, scrapeSum } from './leases.js';

describe('controller: leader election between two operator processes', function () {
  this.timeout(240_000);
  const fx = useKube('ctl-lead', { withKubelet: false });
  const leaseName = `silo-test-lead-${randomBytes(3).toString('hex')}`;
  const operators: OperatorProcess[] = [];

  after(async () => {
    for (const o of operators) await o.kill();
    if (fx.kc) await deleteLease(fx.kc, leaseName);
  });

  it('lets exactly one lead and reconcile; after SIGKILL of the leader the standby leads within 25 s and reconciles', async () => {
    const a = await startOperator({
      watchNamespaces: [fx.namespace],
      leaderElectionId: leaseName,
      identity: `lead-a-${randomBytes(2).toString('hex')}`,
    });
    operators.push(a);
    await waitFor('a leads', async () => (await scrape(a.metricsUrl, 'silo_leader')) === 1, 30_000);
    const b = await startOperator({
      watchNamespaces: [fx.namespace],
      leaderElectionId: leaseName,
      identity: `lead-b-${randomBytes(2).toString('hex')}`,
    });
    operators.push(b);
    await waitFor('b ready (standby)', async () => (await fetch(b.readyUrl)).status === 200, 60_000);

    // A Backup of a Cluster that does not exist: every reconcile of it counts, whatever its outcome.
    const custom = fx.kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'mysql.cloudnative-mysql.io',
      version: 'v1alpha1',
      plural: 'backups',
      namespace: fx.namespace,
      body: {
        apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
        kind: 'Backup',
        metadata: { name: 'handover' },
        spec: { cluster: { name: 'absent' }, method: 'xtrabackup' },
      },
    });
    await waitFor(
      'the leader reconciles the Backup',
      async () => (await scrapeSum(a.metricsUrl, 'silo_reconcile_total', 'controller="backup"')) > 0,
      30_000,
    );
    // Standby polls several rounds: it must neither lead nor reconcile.
    await new Promise((r) => setTimeout(r, 5000));
    expect(await scrape(a.metricsUrl, 'silo_leader')).to.equal(1);
    expect(await scrape(b.metricsUrl, 'silo_leader')).to.equal(0);
    expect(await scrapeSum(b.metricsUrl, 'silo_reconcile_total')).to.equal(0);
    expect((await readLease(fx.kc, leaseName))?.spec?.holderIdentity).to.equal(a.identity);

    const killedAt = Date.now();
    await a.kill();
    await waitFor('b leads', async () => (await scrape(b.metricsUrl, 'silo_leader')) === 1, 40_000);
    const handover = (Date.now() - killedAt) / 1000;
    console.log(`      leader hand-over after SIGKILL: ${handover.toFixed(1)} s (lease 15 s, retry 2 s)`);
    expect(handover).to.be.at.most(25);
    const lease = await readLease(fx.kc, leaseName);
    expect(lease?.spec?.holderIdentity).to.equal(b.identity);
    expect(lease?.spec?.leaseTransitions).to.equal(1);
    await waitFor(
      'the new leader reconciles the Backup',
      async () => (await scrapeSum(b.metricsUrl, 'silo_reconcile_total', 'controller="backup"')) > 0,
      30_000,
    );

    await b.stop();
    expect((await b.exited).code).to.equal(0);
  });
});
