/**
 * `.mocharc.yaml` lists its spec globs in a chosen order (longest files first,
 * decision 0240) instead of one `test/**\/*.test.ts`: this checks that the list
 * still runs every test file, once.
 */
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../stack/kube/layout.js';
import { EXCLUSIVE_GROUPS } from './run-locks.js';

const require = createRequire(import.meta.url);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

/** The files `mocha` (no arguments) runs, in order, collected by mocha's own code from .mocharc.yaml. */
function collected(): string[] {
  const { loadOptions } = require('mocha/lib/cli/options');
  const collectFiles = require('mocha/lib/cli/collect-files');
  const cwd = process.cwd();
  process.chdir(repoRoot);
  try {
    const o = loadOptions(['--config', join(repoRoot, '.mocharc.yaml')]);
    const { files } = collectFiles({
      ignore: o.ignore ?? [],
      extension: o.extension,
      file: o.file ?? [],
      recursive: o.recursive,
      sort: o.sort,
      spec: o.spec ?? o._,
    });
    return (files as string[]).map((f) => relative(repoRoot, f));
  } finally {
    process.chdir(cwd);
  }
}

describe('the test run (.mocharc.yaml)', () => {
  it('runs every test file exactly once, the longest first', () => {
    const files = collected();
    const all = testFiles(join(repoRoot, 'test')).map((f) => relative(repoRoot, f));
    expect(files.length - new Set(files).size, 'files listed twice').to.equal(0);
    expect([...files].sort()).to.deep.equal([...all].sort());
    expect(files.slice(0, 3)).to.deep.equal([
      'test/integration/controller/postgres/pg-restore-kills.test.ts',
      'test/integration/controller/postgres/pg-wal-outage.test.ts',
      'test/integration/workers/round-trips.test.ts',
    ]);
  });

  it('names only existing files in its exclusive groups', () => {
    const all = new Set(testFiles(join(repoRoot, 'test')).map((f) => relative(repoRoot, f)));
    for (const files of Object.values(EXCLUSIVE_GROUPS)) for (const f of files) expect(all.has(f), f).to.equal(true);
  });
});
