import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { OperatorInstallChart } from '../../../charts/operator-install-chart.js';
import { LEADER_ELECTION_RULES, OPERATOR_CLUSTER_RULES } from '../../../src/index.js';
import { REPO_ROOT } from '../../support/seed-examples.js';

const GOLDEN_DIR = join(REPO_ROOT, 'test/golden/install');
const bundle = Testing.synth(new OperatorInstallChart(Testing.app()));
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
      for (const object of bundle) writeFileSync(join(GOLDEN_DIR, goldenName(object)), stringify(object, { lineWidth: 0 }));
    }
    expect(readdirSync(GOLDEN_DIR).sort()).to.deep.equal(bundle.map(goldenName).sort());
    for (const object of bundle) {
      expect(stringify(object, { lineWidth: 0 }), goldenName(object)).to.equal(readFileSync(join(GOLDEN_DIR, goldenName(object)), 'utf8'));
    }
  });

  it('holds six CRDs, then namespace, ServiceAccount, RBAC, Deployment and metrics Service', () => {
    expect(bundle.filter((o) => o.kind === 'CustomResourceDefinition')).to.have.length(6);
    expect(bundle.map((o) => o.kind).filter((k) => k !== 'CustomResourceDefinition')).to.deep.equal(
      ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'Service']);
  });

  it('uses stable names without hashes, and namespaces every namespaced object', () => {
    for (const object of bundle) {
      expect(object.metadata.name, object.kind).to.match(/^[a-z0-9.-]+$/).and.not.match(/-[a-f0-9]{8}$/);
      const clusterScoped = ['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind);
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).to.equal(clusterScoped ? undefined : 'silo-system');
    }
  });

  it('honours a custom namespace and image', () => {
    const custom = Testing.synth(new OperatorInstallChart(Testing.app(), 'custom', { namespace: 'backup', image: 'registry.local/silo:dev' }));
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
    it('sets explicit requests and limits', () => {
      expect(container.resources.requests).to.have.keys('cpu', 'memory');
      expect(container.resources.limits).to.have.keys('cpu', 'memory');
    });
    it('has liveness and readiness probes and a metrics port', () => {
      expect(container.livenessProbe.httpGet.path).to.equal('/healthz');
      expect(container.readinessProbe.httpGet.path).to.equal('/readyz');
      expect(container.ports.map((p: any) => p.name)).to.include('metrics');
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
      ['backup-operator.io', ['backupstorages', 'backupschedules', 'backupruns'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
      ['backup-operator.io', ['backupstorages/status', 'backupschedules/status', 'backupruns/status'], ['get', 'update', 'patch']],
      ['backup-operator.io', ['backupstorages/finalizers', 'backupschedules/finalizers', 'backupruns/finalizers'], ['update']],
      ['mysql.cloudnative-mysql.io', ['clusters', 'backups', 'scheduledbackups'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
      ['mysql.cloudnative-mysql.io', ['clusters/status', 'backups/status', 'scheduledbackups/status'], ['get', 'update', 'patch']],
      ['mysql.cloudnative-mysql.io', ['clusters/finalizers', 'backups/finalizers', 'scheduledbackups/finalizers'], ['update']],
      ['batch', ['jobs'], ['get', 'list', 'watch', 'create', 'delete']],
      ['', ['pods'], ['get', 'list', 'watch', 'create', 'delete']],
      ['', ['events'], ['create', 'patch']],
      ['events.k8s.io', ['events'], ['create', 'patch']],
      ['', ['secrets'], ['get']],
    ];
    expected.forEach(([group, resources, verbs], index) => {
      it(`cluster rule ${index + 1}: ${group || 'core'} ${resources.join(',')} → ${verbs.join(',')}`, () => {
        expect(clusterRole.rules[index]).to.deep.equal({ apiGroups: [group], resources, verbs });
      });
    });
    it('has no other cluster rules', () => expect(clusterRole.rules).to.have.length(expected.length));

    it('never lets the operator list or watch Secrets, exec into pods, or touch RBAC', () => {
      const grants = (resource: string, verb: string) => clusterRole.rules.some((r: any) => r.resources.includes(resource) && r.verbs.includes(verb));
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
});
