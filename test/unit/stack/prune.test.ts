import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pruneOlderThan } from '../../stack/lib/prune.js';

describe('stack: pruning test data an earlier run left in a store', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'silo-prune-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const file = (path: string, ageHours: number) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), 'x');
    const when = new Date(Date.now() - ageHours * 3600_000);
    utimesSync(join(root, path), when, when);
  };

  it('deletes old files and the directories they leave empty, keeping new files, their directories and the root', () => {
    file('silo/pg-old/archive/db/00000001.zst', 30);
    file('silo/pg-old/backup.info', 30);
    file('silo/pg-new/backup.info', 1);
    file('mixed/old.bin', 7);
    file('mixed/new.bin', 5);
    expect(pruneOlderThan(root, 6 * 3600_000)).to.equal(3);
    expect(readdirSync(root).sort()).to.deep.equal(['mixed', 'silo']);
    expect(readdirSync(join(root, 'silo'))).to.deep.equal(['pg-new']);
    expect(readdirSync(join(root, 'mixed'))).to.deep.equal(['new.bin']);
    pruneOlderThan(root, 0, Date.now() + 1000);
    expect(readdirSync(root)).to.deep.equal([]);
  });

  it('takes a missing root as nothing to prune', () => {
    expect(pruneOlderThan(join(root, 'absent'), 0)).to.equal(0);
  });
});
