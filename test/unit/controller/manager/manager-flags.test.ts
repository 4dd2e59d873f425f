/** `silo controller` flags and the status-only update predicate. */
import { expect } from 'chai';
import { parseControllerFlags } from '../../../../runtime/controller/manager/flags.js';
import { statusOnlyChange } from '../../../../runtime/controller/kube/update-predicates.js';
import { PGClusterReconciler } from '../../../../runtime/controller/postgres/cluster/pg-cluster-reconciler.js';
import { PG_BACKUP_LOCK } from '../../../../runtime/controller/postgres/backup/pg-backup-lock.js';
import { PG_RESTORE_HOLD } from '../../../../runtime/controller/postgres/restore/pg-restore-hold.js';

describe('silo controller flags', () => {
  it('defaults: no leader election, id silo-operator, namespace from POD_NAMESPACE, all namespaces, 8080/8081 on POD_IP, 4 workers, 5 min resync', () => {
    const f = parseControllerFlags([], {
      POD_NAMESPACE: 'ops',
      POD_IP: '10.0.0.7',
      POD_NAME: 'silo-operator-x',
      SILO_WORKER_IMAGE: 'registry/silo:dev',
    });
    expect(f).to.deep.include({
      leaderElect: false,
      leaderElectionId: 'silo-operator',
      leaderElectionNamespace: 'ops',
      watchNamespaces: [],
      metricsPort: 8080,
      healthPort: 8081,
      bindAddress: '10.0.0.7',
      identity: 'silo-operator-x',
      concurrency: 4,
      resyncMs: 300_000,
      skipStatusOnlyUpdates: false,
    });
    expect(f.settings).to.deep.equal({
      workerImage: 'registry/silo:dev',
      instanceImage: 'ghcr.io/silo-operator/silo-mysql-instance:0.1.0',
      pgInstanceImage: 'ghcr.io/silo-operator/silo-postgres-instance:0.1.0',
      operatorNamespace: 'ops',
      podStartGraceSeconds: 60,
    });
    expect(parseControllerFlags([], {})).to.deep.include({ leaderElectionNamespace: 'silo-system', bindAddress: '127.0.0.1' });
    expect(parseControllerFlags([], {}).settings.workerImage).to.equal('ghcr.io/silo-operator/silo:0.1.0');
    expect(parseControllerFlags([], { SILO_INSTANCE_IMAGE: 'registry/mariadb-instance:1' }).settings.instanceImage).to.equal(
      'registry/mariadb-instance:1',
    );
    expect(parseControllerFlags([], { SILO_PG_INSTANCE_IMAGE: 'registry/pg-instance:1' }).settings.pgInstanceImage).to.equal(
      'registry/pg-instance:1',
    );
  });

  it('parses a comma list of namespaces and the flags the Deployment passes', () => {
    const f = parseControllerFlags(
      ['--leader-elect', '--leader-election-id=silo-operator', '--watch-namespace= a, b ,', '--metrics-port=9090', '--health-port=0'],
      {},
    );
    expect(f).to.deep.include({ leaderElect: true, watchNamespaces: ['a', 'b'], metricsPort: 9090, healthPort: 0 });
    expect(parseControllerFlags(['--cluster-scoped-selector=silo-test=abc'], {}).clusterScopedSelector).to.equal('silo-test=abc');
  });

  const bad: Array<[string[], RegExp]> = [
    [['--bogus'], /Unknown option '--bogus'.*flags: --leader-elect/],
    [['--metrics-port=http'], /--metrics-port must be a port number 0-65535, got "http"/],
    [['--health-port=70000'], /--health-port must be a port number/],
    [['--watch-namespace=Prod'], /--watch-namespace .* "Prod" is not one/],
    [['--leader-election-id=Silo_Operator'], /--leader-election-id must be a DNS subdomain name/],
    [['--concurrency=0'], /--concurrency must be a positive integer, got "0"/],
    [['--log-level=trace'], /--log-level must be debug, info, warn or error, got "trace"/],
  ];
  for (const value of ['0', 'soon', '1.5']) {
    it(`rejects SILO_POD_START_GRACE_SECONDS=${value} naming the variable`, () => {
      expect(() => parseControllerFlags([], { SILO_POD_START_GRACE_SECONDS: value }))
        .to.throw(/SILO_POD_START_GRACE_SECONDS must be a whole number of seconds/)
        .with.property('name', 'ConfigError');
    });
  }
  it('takes the Pod start grace from SILO_POD_START_GRACE_SECONDS', () => {
    expect(parseControllerFlags([], { SILO_POD_START_GRACE_SECONDS: '15' }).settings.podStartGraceSeconds).to.equal(15);
  });
  for (const [args, message] of bad) {
    it(`rejects ${args.join(' ')} with a ConfigError naming the flag`, () => {
      expect(() => parseControllerFlags(args, {}))
        .to.throw(message)
        .with.property('name', 'ConfigError');
    });
  }
});

describe('status-only update predicate', () => {
  const base = {
    apiVersion: 'v1',
    kind: 'X',
    metadata: { name: 'a', resourceVersion: '1', generation: 1, labels: { x: 'y' } },
    spec: { a: 1 },
    status: { phase: 'pending' },
  };
  it('ignores changes of status, resourceVersion and managedFields only', () => {
    expect(
      statusOnlyChange(base, {
        ...base,
        metadata: { ...base.metadata, resourceVersion: '2', managedFields: [] as never },
        status: { phase: 'running' },
      }),
    ).to.equal(true);
  });
  it('reports spec, label, annotation, finalizer and deletion changes', () => {
    expect(statusOnlyChange(base, { ...base, spec: { a: 2 }, metadata: { ...base.metadata, generation: 2 } })).to.equal(false);
    expect(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, labels: { x: 'z' } } })).to.equal(false);
    expect(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, annotations: { restore: 'now' } } as never })).to.equal(false);
    expect(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, finalizers: ['f'] } as never })).to.equal(false);
    expect(
      statusOnlyChange(base, { ...base, metadata: { ...base.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } as never }),
    ).to.equal(false);
  });
  it('ignores the annotations it is told to, and only those', () => {
    const locked = { ...base, metadata: { ...base.metadata, annotations: { lock: 'b1/uid', hold: 'r1' } } };
    const unlocked = { ...base, metadata: { ...base.metadata, annotations: { hold: 'r1' } }, status: { phase: 'ready' } };
    expect(statusOnlyChange(locked, unlocked, ['lock'])).to.equal(true);
    expect(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, annotations: { lock: 'b2/uid' } } }, ['lock'])).to.equal(true);
    expect(statusOnlyChange(locked, { ...locked, metadata: { ...locked.metadata, annotations: { lock: 'b1/uid' } } }, ['lock'])).to.equal(
      false,
    );
    expect(statusOnlyChange(locked, unlocked)).to.equal(false);
  });
});

describe('PGCluster reconciler: updates that need no pass (decision 0254)', () => {
  const cluster = {
    apiVersion: 'postgres.silo.io/v1alpha1',
    kind: 'PGCluster',
    metadata: { name: 'db', namespace: 'shop', resourceVersion: '1', generation: 1 },
    spec: { instances: 1 },
    status: { phase: 'Ready' },
  };
  const ignores = new PGClusterReconciler().ignoresUpdate;
  const annotated = (annotations: Record<string, string>) => ({ ...cluster, metadata: { ...cluster.metadata, annotations } });
  it('skips its own status writes and the backup lock taken or released', () => {
    expect(
      ignores(cluster, { ...cluster, metadata: { ...cluster.metadata, resourceVersion: '2' }, status: { phase: 'Degraded' } }),
    ).to.equal(true);
    expect(ignores(cluster, annotated({ [PG_BACKUP_LOCK]: 'nightly/uid' }))).to.equal(true);
    expect(ignores(annotated({ [PG_BACKUP_LOCK]: 'nightly/uid' }), cluster)).to.equal(true);
  });
  it('passes on a spec change, the restore hold and a deletion', () => {
    expect(ignores(cluster, { ...cluster, spec: { instances: 3 }, metadata: { ...cluster.metadata, generation: 2 } })).to.equal(false);
    expect(ignores(cluster, annotated({ [PG_RESTORE_HOLD]: 'r1/uid' }))).to.equal(false);
    expect(ignores(cluster, { ...cluster, metadata: { ...cluster.metadata, deletionTimestamp: '2026-12-06T00:00:00Z' } })).to.equal(false);
  });
});
