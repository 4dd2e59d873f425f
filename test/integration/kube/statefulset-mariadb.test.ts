/**
 * A StatefulSet of two MariaDB pods: the real statefulset controller creates
 * them, the process kubelet runs Debian's MariaDB for each on its own pod IP
 * with its own PVC directory, and deleting the StatefulSet cascades (GC).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { useKube, waitFor, podsWithLabel } from './fixture.js';

function sql(ip: string, query: string): string {
  return execFileSync('mariadb', ['-h', ip, '-P', '3306', '-u', 'root', '--batch', '--skip-column-names', '-e', query], {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

describe('kube: a MariaDB StatefulSet on the process kubelet', function () {
  this.timeout(180_000);
  const fx = useKube('sts', { withKubelet: true });
  let pods: V1Pod[] = [];

  it('runs two pods with separate pod IPs', async () => {
    await fx.apps.createNamespacedStatefulSet({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'db' },
        spec: {
          serviceName: 'db',
          replicas: 2,
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: {
              schedulerName: fx.scheduler,
              terminationGracePeriodSeconds: 10,
              containers: [
                {
                  name: 'mariadb',
                  image: 'mariadb:10.11',
                  args: ['--skip-log-bin', '--innodb-buffer-pool-size=16M'],
                  env: [{ name: 'MARIADB_ALLOW_EMPTY_ROOT_PASSWORD', value: '1' }],
                  ports: [{ name: 'mysql', containerPort: 3306 }],
                  // Runs inside the pod's mount namespace, where the socket is the pod's own.
                  readinessProbe: { exec: { command: ['mariadb-admin', '--socket=/run/mysqld/mysqld.sock', 'ping'] }, periodSeconds: 1 },
                  volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }],
                },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
            },
          ],
        },
      },
    });
    // OrderedReady: db-1 is only created once db-0 passes its readiness probe.
    pods = await waitFor(
      'both MariaDB pods Ready',
      async () => {
        const items = await podsWithLabel(fx, 'app=db');
        const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return items.length === 2 && items.every(ready) ? items : undefined;
      },
      120_000,
    );
    const ips = pods.map((p) => p.status!.podIP!);
    expect(new Set(ips).size).to.equal(2);
    for (const ip of ips) expect(ip).to.match(/^127\.1\.\d+\.\d+$/);
  });

  it('each MariaDB answers on its own pod IP with its own data directory', async () => {
    const [a, b] = pods.map((p) => p.status!.podIP!);
    for (const ip of [a, b]) await waitFor(`MariaDB on ${ip}`, async () => sql(ip, 'SELECT 1') === '1', 60_000);
    sql(a, 'CREATE DATABASE only_on_a');
    expect(sql(a, "SHOW DATABASES LIKE 'only_on_a'")).to.equal('only_on_a');
    expect(sql(b, "SHOW DATABASES LIKE 'only_on_a'")).to.equal('');
    // The data sits in each pod's volume directory (the PV's hostPath), not in the host's /var/lib/mysql.
    const dirOf = async (ip: string) => {
      const pod = pods.find((p) => p.status!.podIP === ip)!;
      const pvc = await waitFor(
        'claim bound',
        async () =>
          (await fx.core.readNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name: `data-${pod.metadata!.name}` })).spec
            ?.volumeName,
      );
      return (await fx.core.readPersistentVolume({ name: pvc })).spec!.hostPath!.path;
    };
    const dirOfA = await dirOf(a);
    const dirOfB = await dirOf(b);
    expect(dirOfA).to.not.equal(dirOfB);
    expect(existsSync(join(dirOfA, 'only_on_a'))).to.equal(true);
    expect(existsSync(join(dirOfB, 'mysql'))).to.equal(true);
    expect(existsSync(join(dirOfB, 'only_on_a'))).to.equal(false);
  });

  it("the volumeClaimTemplates' PVCs are Bound (by the real PV controller) to hostPath volumes", async () => {
    for (const p of pods) {
      const claim = `data-${p.metadata!.name}`;
      const pvc = await waitFor(
        `PVC ${claim} Bound`,
        async () => {
          const c = await fx.core.readNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name: claim });
          return c.status?.phase === 'Bound' ? c : undefined;
        },
        30_000,
      );
      const pv = await fx.core.readPersistentVolume({ name: pvc.spec!.volumeName! });
      expect(pv.spec?.claimRef?.uid).to.equal(pvc.metadata!.uid);
      expect(pv.spec?.hostPath?.path).to.equal(join(fx.kubeletStateDir, 'pvc', fx.namespace, `${claim}-${pvc.metadata!.uid}`));
    }
  });

  it('deleting the StatefulSet cascades to its pods, and their processes stop', async () => {
    const ips = pods.map((p) => p.status!.podIP!);
    await fx.apps.deleteNamespacedStatefulSet({ namespace: fx.namespace, name: 'db', propagationPolicy: 'Background' });
    await waitFor('the StatefulSet pods to be deleted', async () => (await podsWithLabel(fx, 'app=db')).length === 0, 60_000);
    for (const ip of ips) {
      expect(() => sql(ip, 'SELECT 1'), `MariaDB on ${ip} still answers`).to.throw();
    }
  });
});
