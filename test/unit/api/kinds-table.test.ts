import { expect } from 'chai';
import { SILO_API_GROUPS, SILO_KIND_TABLE, type SiloKind } from '../../../src/api/kinds.js';
import { crdFacts, scanKindSchemaFiles, SILO_KINDS } from '../../../src/schema/kinds.js';
import { OPERATOR_CLUSTER_RULES } from '../../../src/install/rbac-rules.js';
import { apiVersionOfKind, KINDS } from '../../../runtime/controller/kube/kinds.js';

describe('the generated kinds table (src/api/kinds.ts)', () => {
  it('has one row per schema with x-silo-crd facts, in the order of the scan of schemas/', () => {
    expect(Object.keys(SILO_KIND_TABLE)).to.deep.equal(Object.keys(scanKindSchemaFiles()));
    expect(SILO_KINDS).to.deep.equal(Object.keys(SILO_KIND_TABLE));
  });

  it("repeats each schema's facts and names its schema file", () => {
    for (const [kind, row] of Object.entries(SILO_KIND_TABLE)) {
      const facts = crdFacts(kind as SiloKind);
      expect(row, kind).to.deep.equal({
        group: facts.group,
        version: facts.version,
        apiVersion: `${facts.group}/${facts.version}`,
        kind: facts.kind,
        plural: facts.plural,
        singular: facts.singular,
        scope: facts.scope,
        namespaced: facts.scope === 'Namespaced',
        schemaFile: scanKindSchemaFiles()[kind],
      });
    }
  });

  it('lists each API group once', () => {
    expect([...SILO_API_GROUPS]).to.deep.equal([...new Set(Object.values(SILO_KIND_TABLE).map((row) => row.group))]);
  });

  it('gives the controller its REST coordinates (KINDS)', () => {
    for (const row of Object.values(SILO_KIND_TABLE)) {
      const ref = KINDS[row.kind];
      expect(ref, row.kind).to.deep.equal({
        group: row.group,
        version: row.version,
        plural: row.plural,
        kind: row.kind,
        namespaced: row.namespaced,
      });
      expect(apiVersionOfKind(ref)).to.equal(row.apiVersion);
    }
    expect(KINDS.BackupStorage.namespaced).to.equal(false);
  });

  it("every kind in the table is in the operator's RBAC rules (src/install/rbac-rules.ts lists them by hand, in the install bundle's order)", () => {
    for (const row of Object.values(SILO_KIND_TABLE)) {
      for (const resource of [row.plural, `${row.plural}/status`, `${row.plural}/finalizers`]) {
        expect(
          OPERATOR_CLUSTER_RULES.some((rule) => rule.apiGroups.includes(row.group) && rule.resources.includes(resource)),
          `${row.group} ${resource}`,
        ).to.equal(true);
      }
    }
  });
});
