import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { OperatorInstallChart, OperatorMonitoringChart } from '../../../charts/operator-install-chart.js';
import { LEADER_ELECTION_RULES, OPERATOR_CLUSTER_RULES, SILO_ALERTS } from '../../../src/index.js';
import { parseControllerFlags } from '../../../runtime/controller/manager/flags.js';
import { OperatorMetrics } from '../../../runtime/controller/manager/metrics.js';
import { REPO_ROOT } from '../../support/seed-examples.js';

const GOLDEN_DIR = join(REPO_ROOT, 'test/golden/install');
const bundle = Testing.synth(new OperatorInstallChart(Testing.app()));
const monitoring = Testing.synth(new OperatorMonitoringChart(Testing.app()));
const one = (kind: string, name?: string) => {
  const matches = bundle.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
  expect(matches, `${kind} ${name ?? ''}`).to.have.length(1);
  return matches[0];
};
const goldenName = (o: any) => `${o.kind}-${o.metadata.name}.yaml`.toLowerCase();

describe('OperatorInstall bundle', () => {
  it('matches the golden files object by object (UPDATE_GOLDEN=1 rewrites them)', () => {
    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(GOLDEN_DIR, { recursive: true, force: true });
      mkdirSync(GOLDEN_DIR, { recursive: true });
      for (const object of [...bundle, ...monitoring])
        writeFileSync(join(GOLDEN_DIR, goldenName(object)), stringify(object, { lineWidth: 0 }));
    }
    expect(readdirSync(GOLDEN_DIR).sort()).to.deep.equal([...bundle, ...monitoring].map(goldenName).sort());
    for (const object of [...bundle, ...monitoring]) {
      expect(stringify(object, { lineWidth: 0 }), goldenName(object)).to.equal(readFileSync(join(GOLDEN_DIR, goldenName(object)), 'utf8'));
    }
  });

  it('holds nine CRDs, then namespace, ServiceAccount, RBAC, Deployment and metrics Service', () => {
    expect(bundle.filter((o) => o.kind === 'CustomResourceDefinition')).to.have.length(9);
    expect(bundle.map((o) => o.kind).filter((k) => k !== 'CustomResourceDefinition')).to.deep.equal([
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'Deployment',
      'Service',
    ]);
  });

  it('uses stable names without hashes, and namespaces every namespaced object', () => {
    for (const object of bundle) {
      expect(object.metadata.name, object.kind)
        .to.match(/^[a-z0-9.-]+$/)
        .and.not.match(/-[a-f0-9]{8}$/);
      const clusterScoped = ['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind);
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).to.equal(clusterScoped ? undefined : 'silo-system');
    }
  });

  it('honours a custom namespace and image', () => {
    const custom = Testing.synth(
      new OperatorInstallChart(Testing.app(), 'custom', { namespace: 'backup', image: 'registry.local/silo:dev' }),
    );
    expect(custom.find((o) => o.kind === 'Namespace').metadata.name).to.equal('backup');
    expect(custom.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].image).to.equal('registry.local/silo:dev');
    expect(custom.find((o) => o.kind === 'ClusterRoleBinding').subjects[0].namespace).to.equal('backup');
  });

  describe('Deployment', () => {
    const deployment = one('Deployment', 'silo-operator');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];

    it('mounts the ServiceAccount token, which the controller needs', () => {
      expect(pod.automountServiceAccountToken).to.equal(true);
      expect(pod.serviceAccountName).to.equal('silo-operator');
    });
    it('runs as a numeric non-root user without privilege escalation', () => {
      expect(pod.securityContext.runAsNonRoot).to.equal(true);
      expect(pod.securityContext.runAsUser).to.be.a('number').and.be.greaterThan(0);
      expect(container.securityContext.allowPrivilegeEscalation).to.equal(false);
      expect(container.securityContext.capabilities.drop).to.deep.equal(['ALL']);
    });
    it('has a read-only root filesystem with an emptyDir /tmp', () => {
      expect(container.securityContext.readOnlyRootFilesystem).to.equal(true);
      expect(container.volumeMounts).to.deep.include({ name: 'tmp', mountPath: '/tmp' });
      expect(pod.volumes.find((v: any) => v.name === 'tmp').emptyDir).to.be.an('object');
    });
    it('sets explicit requests and limits, with memory above the measured peak RSS', () => {
      expect(container.resources.requests).to.have.keys('cpu', 'memory');
      expect(container.resources.limits).to.have.keys('cpu', 'memory');
      // bench:load measured a 371 MiB peak (200 schedules due at once, tsx-free bundle).
      expect(container.resources.limits.memory).to.equal('512Mi');
    });
    it('has liveness and readiness probes and a metrics port', () => {
      expect(container.livenessProbe.httpGet.path).to.equal('/healthz');
      expect(container.readinessProbe.httpGet.path).to.equal('/readyz');
      expect(container.ports.map((p: any) => p.name)).to.include('metrics');
    });
    it('gets its pod IP, namespace and name from the downward API', () => {
      const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]));
      expect(env).to.deep.include({ POD_IP: 'status.podIP', POD_NAMESPACE: 'metadata.namespace', POD_NAME: 'metadata.name' });
      expect(env.SILO_WORKER_IMAGE).to.equal(container.image);
    });
    it('passes args that `silo controller` parses into leader election, the container ports and the pod IP', () => {
      expect(container.args[0]).to.equal('controller');
      const flags = parseControllerFlags(container.args.slice(1), {
        POD_NAMESPACE: 'silo-system',
        POD_IP: '10.1.2.3',
        POD_NAME: 'silo-operator-abc',
      });
      const port = (name: string) => container.ports.find((p: any) => p.name === name).containerPort;
      expect(flags).to.deep.include({
        leaderElect: true,
        leaderElectionId: 'silo-operator',
        leaderElectionNamespace: 'silo-system',
        watchNamespaces: [],
        metricsPort: port('metrics'),
        healthPort: port('health'),
        bindAddress: '10.1.2.3',
        identity: 'silo-operator-abc',
        logLevel: 'info',
      });
      expect(container.livenessProbe.httpGet.port).to.equal('health');
      expect(container.readinessProbe.httpGet.port).to.equal('health');
    });
    it('passes watch namespaces and a separate worker image when given', () => {
      const custom = Testing.synth(
        new OperatorInstallChart(Testing.app(), 'custom', { watchNamespaces: ['db', 'apps'], workerImage: 'registry.local/silo-worker:1' }),
      );
      const c = custom.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
      expect(parseControllerFlags(c.args.slice(1), {}).watchNamespaces).to.deep.equal(['db', 'apps']);
      expect(c.env.find((e: any) => e.name === 'SILO_WORKER_IMAGE').value).to.equal('registry.local/silo-worker:1');
    });
    it('gives in-flight reconciles time to finish before the kubelet kills it', () => {
      const flags = parseControllerFlags(container.args.slice(1), {});
      expect(pod.terminationGracePeriodSeconds * 1000).to.be.greaterThan(flags.shutdownGraceMs);
    });
    it('selects its pods with stable labels that the metrics Service also uses', () => {
      const service = one('Service', 'silo-operator-metrics');
      expect(service.spec.selector).to.deep.equal(deployment.spec.selector.matchLabels);
      expect(deployment.spec.template.metadata.labels).to.deep.include(deployment.spec.selector.matchLabels);
      expect(service.spec.ports[0].targetPort).to.equal('metrics');
    });
  });

  describe('RBAC', () => {
    const clusterRole = one('ClusterRole', 'silo-operator');
    const role = one('Role', 'silo-operator-leader-election');
    const allRules = [...clusterRole.rules, ...role.rules];

    it('emits exactly the rules in rbac-rules.ts', () => {
      expect(clusterRole.rules).to.deep.equal(OPERATOR_CLUSTER_RULES);
      expect(role.rules).to.deep.equal(LEADER_ELECTION_RULES);
    });
    it('grants no wildcard anywhere', () => {
      for (const rule of allRules) {
        for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs]) expect(value).to.not.include('*');
      }
    });

    const expected: Array<[string, string[], string[]]> = [
      [
        'backup-operator.io',
        ['backupstorages', 'backupschedules', 'backupruns'],
        ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      ],
      ['backup-operator.io', ['backupstorages/status', 'backupschedules/status', 'backupruns/status'], ['get', 'update', 'patch']],
      ['backup-operator.io', ['backupstorages/finalizers', 'backupschedules/finalizers', 'backupruns/finalizers'], ['update']],
      [
        'mysql.cloudnative-mysql.io',
        ['clusters', 'backups', 'scheduledbackups'],
        ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      ],
      ['mysql.cloudnative-mysql.io', ['clusters/status', 'backups/status', 'scheduledbackups/status'], ['get', 'update', 'patch']],
      ['mysql.cloudnative-mysql.io', ['clusters/finalizers', 'backups/finalizers', 'scheduledbackups/finalizers'], ['update']],
      ['postgres.silo.io', ['pgclusters', 'pgbackups', 'pgrestores'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
      ['postgres.silo.io', ['pgclusters/status', 'pgbackups/status', 'pgrestores/status'], ['get', 'update', 'patch']],
      ['postgres.silo.io', ['pgclusters/finalizers', 'pgbackups/finalizers', 'pgrestores/finalizers'], ['update']],
      ['batch', ['jobs'], ['get', 'list', 'watch', 'create', 'delete']],
      ['', ['pods'], ['get', 'list', 'watch', 'create', 'patch', 'delete']],
      ['', ['pods/log'], ['get']],
      ['', ['persistentvolumeclaims'], ['get', 'list', 'watch', 'create', 'delete']],
      ['', ['services'], ['get', 'create', 'patch']],
      ['', ['events'], ['create', 'patch']],
      ['events.k8s.io', ['events'], ['create', 'patch']],
      ['', ['secrets'], ['get', 'create', 'update', 'delete']],
    ];
    expected.forEach(([group, resources, verbs], index) => {
      it(`cluster rule ${index + 1}: ${group || 'core'} ${resources.join(',')} → ${verbs.join(',')}`, () => {
        expect(clusterRole.rules[index]).to.deep.equal({ apiGroups: [group], resources, verbs });
      });
    });
    it('has no other cluster rules', () => expect(clusterRole.rules).to.have.length(expected.length));

    it('never lets the operator list or watch Secrets, exec into pods, or touch RBAC', () => {
      const grants = (resource: string, verb: string) =>
        clusterRole.rules.some((r: any) => r.resources.includes(resource) && r.verbs.includes(verb));
      expect(grants('secrets', 'list')).to.equal(false);
      expect(grants('secrets', 'watch')).to.equal(false);
      expect(grants('pods/exec', 'create')).to.equal(false);
      expect(clusterRole.rules.some((r: any) => r.apiGroups.includes('rbac.authorization.k8s.io'))).to.equal(false);
      expect(clusterRole.rules.some((r: any) => r.apiGroups.includes('apiextensions.k8s.io'))).to.equal(false);
    });
    it('limits leader election to Leases in the operator namespace', () => {
      expect(role.metadata.namespace).to.equal('silo-system');
      expect(role.rules).to.deep.equal([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]);
    });
    it('binds both roles to the operator ServiceAccount only', () => {
      for (const binding of [one('ClusterRoleBinding'), one('RoleBinding')]) {
        expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'silo-operator', namespace: 'silo-system' }]);
      }
    });
  });

  describe('monitoring (dist/silo-monitoring.k8s.yaml)', () => {
    const rule = monitoring.find((o) => o.kind === 'PrometheusRule');
    const exported = new Map(
      new OperatorMetrics({ processMetrics: false }).registry
        .getMetricsAsArray()
        .map((m) => [m.name, ((m as any).labelNames ?? []) as string[]]),
    );
    const known = (name: string) => exported.get(name) ?? exported.get(name.replace(/_(bucket|sum|count)$/, ''));

    it('holds a PrometheusRule and a ServiceMonitor in the operator namespace, selecting the metrics Service', () => {
      expect(monitoring.map((o) => `${o.apiVersion} ${o.kind}`)).to.deep.equal([
        'monitoring.coreos.com/v1 PrometheusRule',
        'monitoring.coreos.com/v1 ServiceMonitor',
      ]);
      for (const o of monitoring) expect(o.metadata.namespace).to.equal('silo-system');
      const service = one('Service', 'silo-operator-metrics');
      const monitor = monitoring.find((o) => o.kind === 'ServiceMonitor');
      expect(service.metadata.labels).to.deep.include(monitor.spec.selector.matchLabels);
      expect(monitor.spec.endpoints[0].port).to.equal(service.spec.ports[0].name);
    });
    it('alerts on a failed backup, no success in 26 h, PostgreSQL archiving and full backups, reconcile errors, and no leader', () => {
      expect(rule.spec.groups[0].rules.map((r: any) => r.alert)).to.deep.equal([
        'SiloBackupFailed',
        'SiloNoRecentBackup',
        'SiloPGWALArchivingLag',
        'SiloPGWALArchivingFailed',
        'SiloPGNoRecentFullBackup',
        'SiloReconcileErrors',
        'SiloNoLeader',
      ]);
      expect(rule.spec.groups[0].rules).to.deep.equal(SILO_ALERTS);
      expect(SILO_ALERTS.find((a) => a.alert === 'SiloNoRecentBackup')!.expr).to.include('26 * 3600');
    });
    for (const alert of SILO_ALERTS) {
      it(`${alert.alert} reads only metrics and labels the operator exports`, () => {
        const metrics = alert.expr.match(/silo_[a-z_]+/g) ?? [];
        expect(metrics).to.have.length.above(0);
        for (const name of metrics) expect(known(name), `${name} is not exported by OperatorMetrics`).to.be.an('array');
        const labels = new Set(metrics.flatMap((n) => known(n)!));
        for (const group of alert.expr.matchAll(/(?:by|on) \(([^)]*)\)/g)) {
          for (const label of group[1].split(',').map((l) => l.trim()))
            expect([...labels], `${alert.alert}: label ${label}`).to.include(label);
        }
        for (const selector of alert.expr.matchAll(/\{([a-z_]+)[!=]/g)) expect([...labels]).to.include(selector[1]);
        expect(alert.annotations.description).to.match(/\.$/);
      });
    }
  });
});
