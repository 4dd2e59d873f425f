import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { generateAll } from '../../../scripts/gen.js';
import { REPO_ROOT } from '../../support/seed-examples.js';

const GENERATED_FOLDERS = ['src/generated', 'imports', 'docs/reference', 'dist'];
const GENERATED_FILES = ['schemas/common/cron-5.schema.yaml', 'schemas/common/cron-6.schema.yaml'];

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

describe('generated files are fresh (npm run gen, then commit)', function () {
  this.timeout(120_000);
  let scratch: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'silo-fresh-'));
    await generateAll(scratch);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  for (const folder of GENERATED_FOLDERS) {
    it(`${folder}/ matches a fresh generation`, () => {
      const fresh = listFiles(join(scratch, folder)).map((f) => relative(scratch, f)).sort();
      const committed = listFiles(join(REPO_ROOT, folder)).map((f) => relative(REPO_ROOT, f)).sort();
      expect(committed, `files in ${folder}/`).to.deep.equal(fresh);
      for (const file of fresh) {
        expect(readFileSync(join(REPO_ROOT, file), 'utf8'), `${file} is stale: run npm run gen`).to.equal(readFileSync(join(scratch, file), 'utf8'));
      }
    });
  }

  it('the generated cron schemas match their generator', () => {
    for (const file of GENERATED_FILES) {
      expect(readFileSync(join(REPO_ROOT, file), 'utf8'), `${file} is stale`).to.equal(readFileSync(join(scratch, file), 'utf8'));
    }
  });

  it('dist/*.yaml parses, and every object has apiVersion, kind and metadata.name', () => {
    const files = readdirSync(join(REPO_ROOT, 'dist')).filter((f) => f.endsWith('.yaml'));
    expect(files).to.include.members(['silo-install.k8s.yaml', 'seed-examples.k8s.yaml', 'fleet-schedules.k8s.yaml']);
    let crds = 0;
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(join(REPO_ROOT, 'dist', file), 'utf8'))) {
        expect(doc.errors, file).to.deep.equal([]);
        const object = doc.toJS();
        expect(object.apiVersion, file).to.be.a('string').and.not.equal('');
        expect(object.kind, file).to.be.a('string').and.not.equal('');
        expect(object.metadata?.name, `${file} ${object.kind}`).to.be.a('string').and.not.equal('');
        if (object.kind === 'CustomResourceDefinition') crds += 1;
      }
    }
    expect(crds).to.equal(6);
  });
});
