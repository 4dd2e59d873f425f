import { expect } from 'chai';
import { buildCrd } from '../../../src/schema/crd-builder.js';
import { crdFacts, SILO_KINDS } from '../../../src/schema/kinds.js';

function walk(node: any, visit: (node: any, path: string) => void, path = ''): void {
  if (!node || typeof node !== 'object') return;
  visit(node, path);
  for (const [key, child] of Object.entries(node.properties ?? {})) walk(child, visit, `${path}.${key}`);
  if (node.items) walk(node.items, visit, `${path}[]`);
  if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, visit, `${path}{}`);
}

describe('CRD builder', () => {
  for (const kind of SILO_KINDS) {
    describe(kind, () => {
      const crd = buildCrd(kind);
      const version = crd.spec.versions[0];
      const schema = version.schema.openAPIV3Schema;

      it('names the CRD <plural>.<group> with the right scope and names', () => {
        const facts = crdFacts(kind);
        expect(crd.metadata.name).to.equal(`${facts.plural}.${facts.group}`);
        expect(crd.spec.scope).to.equal(kind === 'BackupStorage' ? 'Cluster' : 'Namespaced');
        expect(crd.spec.names).to.include({ kind, listKind: `${kind}List`, plural: facts.plural });
      });
      it('serves one stored version with the status subresource and printer columns', () => {
        expect(crd.spec.versions).to.have.length(1);
        expect(version).to.include({ served: true, storage: true });
        expect(version.subresources).to.deep.equal({ status: {} });
        expect(version.additionalPrinterColumns.map((c: any) => c.name)).to.include('Age');
      });
      it('is structural: every node has a type, no additionalProperties: false, no Silo-only keywords', () => {
        walk(schema, (node, path) => {
          expect(node.type, `type at ${path || '.'}`).to.be.a('string');
          expect(node.additionalProperties, path).to.not.equal(false);
          for (const key of Object.keys(node)) expect(key, path).to.not.match(/^(x-silo-|\$ref|\$id|\$schema)/);
        });
      });
      it('gives every string that a CEL rule reads a bounded length, so the API server accepts the rule cost', () => {
        walk(schema, (node, path) => {
          if (node.type === 'string' && node['x-kubernetes-validations']) expect(node.maxLength, path).to.be.a('number');
        });
      });
    });
  }

  it('shows phase, cluster, size and last-schedule columns where they apply', () => {
    const columns = (kind: any) => buildCrd(kind).spec.versions[0].additionalPrinterColumns.map((c: any) => c.name);
    expect(columns('Backup')).to.include.members(['Cluster', 'Phase', 'Size', 'Age']);
    expect(columns('ScheduledBackup')).to.include.members(['Cluster', 'Last Schedule']);
    expect(columns('BackupSchedule')).to.include('Last Schedule');
    expect(columns('BackupRun')).to.include.members(['Phase', 'Size']);
  });

  it('makes Backup.spec immutable through a transition rule', () => {
    const spec = buildCrd('Backup').spec.versions[0].schema.openAPIV3Schema.properties.spec;
    expect(spec['x-kubernetes-validations']).to.deep.include({
      rule: 'self == oldSelf',
      message: 'Backup spec is immutable; create a new Backup instead',
    });
  });
});
