import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../support/seed-examples.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? testFiles(path) : name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('the test suite itself', () => {
  it('has no skipped or exclusive tests left behind', () => {
    const offenders = testFiles(join(REPO_ROOT, 'test')).filter((file) =>
      /\b(it|describe|context)\.(skip|only)\(|\bthis\.skip\(\)|\bxit\(|\bxdescribe\(/.test(readFileSync(file, 'utf8')),
    );
    expect(offenders.map((file) => relative(REPO_ROOT, file))).to.deep.equal([]);
  });
});
