import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Testing } from 'cdk8s';
import { SeedExamplesChart } from '../../../charts/seed-examples-chart.js';
import type { SiloKind } from '../../../src/schema/kinds.js';
import { validateResource } from '../../../src/validation/validator.js';
import { contentLines, SEEDS_DIR, seedExamples } from '../../support/seed-examples.js';

const examples = seedExamples();
const wholeObjects = examples.filter((e) => e.object.kind);

describe('seed YAML examples', () => {
  it('finds every example: 2 in seed 002, 2 in seed 004, 4 in seed 003', () => {
    expect(examples.map((e) => e.id)).to.have.length(8);
    expect(examples.filter((e) => e.id.startsWith('002'))).to.have.length(2);
    expect(examples.filter((e) => e.id.startsWith('004'))).to.have.length(2);
  });

  it('seeds 002 and 004 carry the same two objects', () => {
    const of = (prefix: string) => examples.filter((e) => e.id.startsWith(prefix)).map((e) => e.object);
    expect(of('004')).to.deep.equal(of('002'));
  });

  it('the re-indented seed 003 fixtures are the seed text line for line', () => {
    const seedLines = contentLines(readFileSync(join(SEEDS_DIR, '003-cloudnative-mysql-physical-backup.txt'), 'utf8'));
    for (const example of examples.filter((e) => e.id.startsWith('003'))) {
      const lines = contentLines(example.text);
      const start = seedLines.findIndex((_, i) => lines.every((line, j) => seedLines[i + j] === line));
      expect(start, `${example.id} must appear verbatim (modulo indentation) in seed 003`).to.be.greaterThan(-1);
    }
  });

  for (const example of wholeObjects) {
    it(`${example.id} (${example.object.kind} ${example.object.metadata.name}) validates against the schemas`, () => {
      expect(validateResource(example.object.kind as SiloKind, example.object).issues).to.deep.equal([]);
    });
  }

  it("the seed 003 object-store fragment validates as a Cluster's spec.backup", () => {
    const fragment = examples.find((e) => e.id.includes('object-store-fragment'))!.object;
    const cluster = {
      apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'c' },
      spec: { storage: { size: '1Gi' }, ...fragment.spec },
    };
    expect(validateResource('Cluster', cluster).issues).to.deep.equal([]);
  });
});

describe('SeedExamplesChart', () => {
  const synthesized = Testing.synth(new SeedExamplesChart(Testing.app()));
  const find = (kind: string, name: string) => synthesized.find((o) => o.kind === kind && o.metadata.name === name);
  const withDefaults = (object: any) => validateResource(object.kind, object).defaulted;

  for (const example of wholeObjects) {
    it(`rebuilds ${example.id} exactly (after defaults)`, () => {
      const built = find(example.object.kind, example.object.metadata.name);
      expect(built, `${example.object.kind} ${example.object.metadata.name} is in the chart`).to.not.equal(undefined);
      expect(withDefaults(built)).to.deep.equal(withDefaults(example.object));
    });
  }

  it("rebuilds the seed 003 object-store fragment as cluster-sample's store", () => {
    const fragment = examples.find((e) => e.id.includes('object-store-fragment'))!.object;
    expect(find('Cluster', 'cluster-sample').spec.backup.objectStore).to.deep.equal(fragment.spec.backup.objectStore);
  });

  it('emits only valid objects, without namespaces, as the seeds do', () => {
    for (const object of synthesized) {
      expect(validateResource(object.kind, object).issues, object.metadata.name).to.deep.equal([]);
      expect(object.metadata.namespace).to.equal(undefined);
    }
  });
});
