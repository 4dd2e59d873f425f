// The recovery step's resume policy (runtime/datapath/recovery/journal.ts), case by case.
import { expect } from 'chai';
import {
  chainFingerprint,
  freshJournal,
  planRecovery,
  type RecoveryJournal,
  type VolumeFacts,
} from '../../../runtime/datapath/recovery/journal.js';

const chain = [
  { key: 'p/full/backup.xbstream', sha256: 'a'.repeat(64), backupId: '20261120T000000Z' },
  { key: 'p/inc1/backup.xbstream', sha256: 'b'.repeat(64), backupId: '20261121T000000Z' },
  { key: 'p/inc2/backup.xbstream', sha256: 'c'.repeat(64), backupId: '20261122T000000Z' },
];
const journal = (patch: Partial<RecoveryJournal> = {}): RecoveryJournal => ({ ...freshJournal(chain), ...patch });
const facts = (patch: Partial<VolumeFacts> = {}): VolumeFacts => ({
  state: undefined,
  journal: undefined,
  dataDirEntries: 0,
  linkDirs: [false, false, false],
  ...patch,
});

describe('recovery journal: what a rerun trusts', () => {
  it('starts from scratch on a fresh volume', () => {
    expect(planRecovery(chain, facts())).to.deep.equal({
      action: 'run',
      journal: freshJournal(chain),
      wipeWorkArea: true,
      clearDataDir: false,
      download: [0, 1, 2],
      prepare: true,
      reused: [],
    });
  });

  it('is done when the state file records this backup, and refuses one that records anything else', () => {
    const done = { origin: 'recovery', completedAt: 'x', backupId: '20261122T000000Z', gtid: '0-1-9' } as const;
    expect(planRecovery(chain, facts({ state: done, dataDirEntries: 12 }))).to.deep.equal({ action: 'done' });
    expect(planRecovery(chain, facts({ state: { ...done, backupId: '20261121T000000Z' } }))).to.deep.equal({
      action: 'refuse',
      reason: 'it already holds a complete datadir (recovery: backup 20261121T000000Z); a recovery never overwrites one',
    });
    expect(planRecovery(chain, facts({ state: { origin: 'initdb', completedAt: 'x' } }))).to.deep.include({ action: 'refuse' });
    expect(planRecovery(chain, facts({ state: 'unreadable' }))).to.deep.include({ action: 'refuse' });
  });

  it('refuses a data directory with files that no recovery placed there', () => {
    expect(planRecovery(chain, facts({ dataDirEntries: 3 }))).to.deep.equal({
      action: 'refuse',
      reason: 'its data directory holds files that no recovery placed there (no state file, no journal)',
    });
    expect(planRecovery(chain, facts({ dataDirEntries: 3, journal: journal({ verified: [true, true, false] }) }))).to.deep.include({
      action: 'refuse',
    });
  });

  it('keeps the links a killed download left verified, and downloads the rest', () => {
    const plan = planRecovery(chain, facts({ journal: journal({ verified: [true, false, false] }), linkDirs: [true, true, false] }));
    expect(plan).to.deep.include({ action: 'run', wipeWorkArea: false, clearDataDir: false, download: [1, 2], prepare: true, reused: [0] });
  });

  it('does not trust a verified link whose folder is gone', () => {
    const plan = planRecovery(chain, facts({ journal: journal({ verified: [true, true, false] }), linkDirs: [true, false, false] }));
    expect(plan).to.deep.include({ download: [1, 2], reused: [0] });
  });

  it('after a prepare cut short, downloads the base and every link up to the one being applied, and keeps the rest', () => {
    const cut = journal({ verified: [true, true, true], preparing: 1 });
    const plan = planRecovery(chain, facts({ journal: cut, linkDirs: [true, true, true] }));
    expect(plan).to.deep.include({ download: [0, 1], prepare: true, reused: [2] });
    if (plan.action !== 'run') throw new Error('not a run');
    expect(plan.journal).to.deep.include({ verified: [false, false, true], preparing: null, prepared: false });
  });

  it('after prepare finished, only places again: a half-placed data directory is cleared and filled from the prepared base', () => {
    const prepared = journal({ verified: [true, true, true], prepared: true, gtid: '0-1-9', placing: true });
    expect(planRecovery(chain, facts({ journal: prepared, linkDirs: [true, false, false], dataDirEntries: 7 }))).to.deep.include({
      action: 'run',
      wipeWorkArea: false,
      clearDataDir: true,
      download: [],
      prepare: false,
      reused: [0, 1, 2],
    });
  });

  it('starts over when the prepared base is gone, clearing what it had placed', () => {
    const prepared = journal({ verified: [true, true, true], prepared: true, placing: true });
    expect(planRecovery(chain, facts({ journal: prepared, linkDirs: [false, false, false], dataDirEntries: 7 }))).to.deep.include({
      clearDataDir: true,
      download: [0, 1, 2],
      reused: [],
    });
  });

  it("wipes another chain's work area, and clears what that chain's run had placed", () => {
    const other = { ...journal({ verified: [true, true], prepared: true, placing: true }), chain: chainFingerprint(chain.slice(0, 2)) };
    expect(planRecovery(chain, facts({ journal: other, linkDirs: [true, false, false], dataDirEntries: 4 }))).to.deep.include({
      wipeWorkArea: true,
      clearDataDir: true,
      download: [0, 1, 2],
    });
  });
});
