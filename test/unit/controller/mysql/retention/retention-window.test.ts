import { expect } from 'chai';
import {
  parseRetentionPolicy,
  RetentionPolicyError,
  windowStart,
} from '../../../../../runtime/controller/mysql/retention/retention-policy.js';
import { selectRetention, type RetentionCandidate } from '../../../../../runtime/controller/mysql/retention/retention-selection.js';

const now = new Date('2026-11-22T12:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);
let serial = 0;
const backup = (name: string, age: number, parent?: string): RetentionCandidate => ({
  name,
  backupId: `2026${String(++serial).padStart(4, '0')}T000000Z-${name}`,
  recoveryPoint: daysAgo(age),
  ...(parent ? { parentBackupId: parent } : {}),
});
const idOf = (list: RetentionCandidate[], name: string) => list.find((b) => b.name === name)!.backupId;
const withParent = (list: RetentionCandidate[], name: string, age: number, parent: string) => {
  const b = backup(name, age, idOf(list, parent));
  list.push(b);
  return b;
};

describe('retention window', () => {
  describe('policy and window start', () => {
    it('parses days, weeks and months and rejects anything else with the fix', () => {
      expect(parseRetentionPolicy('30d')).to.deep.equal({ count: 30, unit: 'd' });
      expect(parseRetentionPolicy('4w')).to.deep.equal({ count: 4, unit: 'w' });
      expect(parseRetentionPolicy('6m')).to.deep.equal({ count: 6, unit: 'm' });
      for (const bad of ['0d', '30', '30y', '1.5d', '-1d', '']) {
        expect(() => parseRetentionPolicy(bad), bad).to.throw(
          RetentionPolicyError,
          /spec\.backup\.retentionPolicy .* use a number followed by d, w or m, e\.g\. 30d/,
        );
      }
    });

    it('counts days and weeks in exact 24-hour days', () => {
      expect(windowStart(now, { count: 30, unit: 'd' }).toISOString()).to.equal('2026-10-23T12:00:00.000Z');
      expect(windowStart(now, { count: 2, unit: 'w' }).toISOString()).to.equal('2026-11-08T12:00:00.000Z');
    });

    it('counts months in calendar months, clamped to the end of a shorter month, across years', () => {
      expect(windowStart(now, { count: 6, unit: 'm' }).toISOString()).to.equal('2026-05-22T12:00:00.000Z');
      expect(windowStart(new Date('2026-03-31T08:00:00Z'), { count: 1, unit: 'm' }).toISOString()).to.equal('2026-02-28T08:00:00.000Z');
      expect(windowStart(new Date('2028-03-31T08:00:00Z'), { count: 1, unit: 'm' }).toISOString()).to.equal('2028-02-29T08:00:00.000Z');
      expect(windowStart(new Date('2026-01-15T00:00:00Z'), { count: 14, unit: 'm' }).toISOString()).to.equal('2024-11-15T00:00:00.000Z');
    });
  });

  describe('which backups are kept', () => {
    const start = daysAgo(7);

    it('keeps backups in the window and the newest one before it (the base of the window start); expires the rest', () => {
      const list = [backup('d20', 20), backup('d15', 15), backup('d10', 10), backup('d5', 5), backup('d1', 1)];
      const { keep, expire } = selectRetention(list, start);
      expect(Object.fromEntries(keep)).to.deep.equal({ d5: 'in-window', d1: 'in-window', d10: 'window-base' });
      expect(expire).to.deep.equal(['d20', 'd15']);
    });

    it('always keeps the newest completed backup, even when all are older than the window', () => {
      const list = [backup('d40', 40), backup('d30', 30), backup('d20', 20)];
      const { keep, expire } = selectRetention(list, start);
      expect([...keep.keys()]).to.deep.equal(['d20']);
      expect(expire).to.deep.equal(['d40', 'd30']);
    });

    it('takes a backup exactly at the window start as the base, so nothing older is needed', () => {
      const list = [backup('old', 9), backup('edge', 7)];
      expect(selectRetention(list, start).expire).to.deep.equal(['old']);
    });

    it('keeps nothing extra and expires nothing when everything is in the window', () => {
      const list = [backup('a', 3), backup('b', 2)];
      expect(selectRetention(list, start).expire).to.deep.equal([]);
      expect(selectRetention([], start).expire).to.deep.equal([]);
    });

    it('never expires a parent of a kept backup: incremental chains are kept whole', () => {
      const list: RetentionCandidate[] = [backup('full-old', 30), backup('full', 20)];
      withParent(list, 'inc1', 15, 'full');
      withParent(list, 'inc2', 10, 'inc1');
      withParent(list, 'inc3', 3, 'inc2');
      const { keep, expire } = selectRetention(list, start);
      expect(Object.fromEntries(keep)).to.deep.equal({
        inc3: 'in-window',
        inc2: 'window-base',
        inc1: 'parent-of-kept',
        full: 'parent-of-kept',
      });
      expect(expire).to.deep.equal(['full-old']);
    });

    it("keeps a differential's full backup but not the incrementals in between", () => {
      const list: RetentionCandidate[] = [backup('full', 20)];
      withParent(list, 'inc', 15, 'full');
      withParent(list, 'diff', 10, 'full');
      backup('unused', 0); // not in the list
      const { keep, expire } = selectRetention(list, start);
      expect(Object.fromEntries(keep)).to.deep.equal({ diff: 'window-base', full: 'parent-of-kept' });
      expect(expire).to.deep.equal(['inc']);
    });

    it('keeps protected backups and their chains, e.g. the parent of a backup still running', () => {
      const list: RetentionCandidate[] = [backup('full', 30)];
      withParent(list, 'inc', 25, 'full');
      list.push(backup('full2', 20), backup('newfull', 2));
      const { keep, expire } = selectRetention(list, start, new Set([idOf(list, 'inc')]));
      expect(Object.fromEntries(keep)).to.deep.equal({
        newfull: 'in-window',
        full2: 'window-base',
        inc: 'protected',
        full: 'parent-of-kept',
      });
      expect(expire).to.deep.equal([]);
      expect(selectRetention(list, start).expire).to.deep.equal(['full', 'inc']);
    });

    it('expires a whole old chain once a newer full backup is the window base', () => {
      const list: RetentionCandidate[] = [backup('full1', 30)];
      withParent(list, 'inc1', 25, 'full1');
      list.push(backup('full2', 12));
      withParent(list, 'inc2', 2, 'full2');
      const { keep, expire } = selectRetention(list, start);
      expect(Object.fromEntries(keep)).to.deep.equal({ inc2: 'in-window', full2: 'window-base' });
      expect(expire).to.deep.equal(['full1', 'inc1']);
    });
  });
});
