import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { checkDecisionIndex } from '../../../scripts/check-decisions.js';
import { REPO_ROOT } from '../../support/seed-examples.js';

describe('scripts/check-decisions.ts', () => {
  it('finds every record of this repository in docs/decisions/README.md', () => {
    expect(checkDecisionIndex(join(REPO_ROOT, 'docs', 'decisions'))).to.deep.equal([]);
  });

  it('names a record missing from the index, a link to nothing, a stray name and a shared number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'silo-check-decisions-'));
    try {
      for (const f of ['0001-one.md', '0002-two.md', '0002-also-two.md', 'notes.md']) writeFileSync(join(dir, f), '# x\n');
      writeFileSync(
        join(dir, 'README.md'),
        '| [0001](0001-one.md) | One | accepted |\n| [0002](0002-two.md) | Two | accepted |\n| [0003](0003-gone.md) | Gone | accepted |\n',
      );
      expect(checkDecisionIndex(dir)).to.deep.equal([
        'notes.md: not named NNNN-short-title.md',
        '0002-also-two.md: missing from the index in README.md',
        'README.md links to 0003-gone.md, which does not exist',
        '0002 is used by 2 records: 0002-also-two.md, 0002-two.md',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
