/**
 * The recovery step's journal: a small JSON file in the work area that says which chain links are
 * verified and extracted, whether prepare ran to its end (or which link it was applying when the
 * run stopped), and whether files may already be in the data directory. Written durably before and
 * after each step, so a run killed at any point is resumed by running the same command again
 * (docs/decisions/0040). `planRecovery` is the whole resume policy, as a pure function.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { VolumeState } from '../../contracts/instance-pod.js';
import { writeFileDurably } from './volume.js';

export const JOURNAL_VERSION = 1;

export interface RecoveryJournal {
  readonly version: typeof JOURNAL_VERSION;
  /** SHA256 over the chain's keys, checksums and backup IDs: a journal of another chain is not trusted. */
  readonly chain: string;
  /** Per link: verified (its SHA256 matched) and extracted into its folder. */
  readonly verified: boolean[];
  /**
   * The link prepare was applying when it last started (0: the base). Set before each
   * `--prepare`, cleared when all are applied: if set, the base and the links up to it are modified
   * halfway (mariabackup deletes an increment's deltas as it applies them) and cannot be trusted.
   */
  readonly preparing: number | null;
  /** Every link was applied to the base; the increments' folders may be gone. */
  readonly prepared: boolean;
  /** The position the prepared base holds (mariabackup's binlog info). */
  readonly gtid?: string;
  /** Set before anything is written into the data directory: files there are this recovery's. */
  readonly placing: boolean;
}

/** What the plan needs to know about a link. */
export interface PlannedLink {
  readonly key: string;
  readonly sha256: string;
  readonly backupId: string;
}

export function chainFingerprint(chain: readonly PlannedLink[]): string {
  return createHash('sha256')
    .update(JSON.stringify(chain.map((l) => [l.key, l.sha256, l.backupId])))
    .digest('hex');
}

export function freshJournal(chain: readonly PlannedLink[]): RecoveryJournal {
  return {
    version: JOURNAL_VERSION,
    chain: chainFingerprint(chain),
    verified: chain.map(() => false),
    preparing: null,
    prepared: false,
    placing: false,
  };
}

/** The journal at `path`, or undefined when there is none or it cannot be read (a fresh start is then safe). */
export function readJournal(path: string): RecoveryJournal | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as RecoveryJournal;
    if (parsed?.version !== JOURNAL_VERSION || typeof parsed.chain !== 'string' || !Array.isArray(parsed.verified)) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

export const writeJournal = (path: string, journal: RecoveryJournal): void => writeFileDurably(path, JSON.stringify(journal) + '\n');

/** STATE_FILE's content, undefined when there is none; 'unreadable' when a file is there but is not a VolumeState. */
export function readVolumeState(path: string): VolumeState | 'unreadable' | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const state = JSON.parse(text) as VolumeState;
    return typeof state?.origin === 'string' ? state : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** What the volume holds when a run starts, read before anything is changed. */
export interface VolumeFacts {
  readonly state: VolumeState | 'unreadable' | undefined;
  readonly journal: RecoveryJournal | undefined;
  /** Entries in the data directory (0 when it does not exist). */
  readonly dataDirEntries: number;
  /** Per link: its extracted folder exists. */
  readonly linkDirs: readonly boolean[];
}

export type RecoveryPlan =
  /** STATE_FILE already records this backup: nothing to do but tidy the work area. */
  | { readonly action: 'done' }
  | { readonly action: 'refuse'; readonly reason: string }
  | {
      readonly action: 'run';
      /**
       * The journal to write before the first step, reflecting what is not trusted. Written after
       * clearDataDir and wipeWorkArea are done: until then the old journal's `placing` vouches for
       * the files in the data directory.
       */
      readonly journal: RecoveryJournal;
      /** Remove the whole work area first: it holds another chain's files, or none we can trust. */
      readonly wipeWorkArea: boolean;
      /** Empty the data directory first: a killed run left files there. */
      readonly clearDataDir: boolean;
      /** Links to download, verify and extract, in order. */
      readonly download: number[];
      /** Run prepare (false: the journal says every link was applied). */
      readonly prepare: boolean;
      /** Links an earlier run verified and this one keeps. */
      readonly reused: number[];
    };

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The resume policy. STATE_FILE decides first: this backup → done; anything else → refuse (a
 * recovery never overwrites a datadir that is marked complete). A data directory with files but no
 * STATE_FILE is a half-placed datadir of a killed run only when a journal says a run started placing
 * files there; it is cleared then, and refused otherwise (never delete what this step did not write).
 * A journal of this chain keeps the links it verified whose folders exist, unless a prepare was cut
 * short: the base and every link up to the one being applied are then downloaded again.
 */
export function planRecovery(chain: readonly PlannedLink[], facts: VolumeFacts): RecoveryPlan {
  const last = chain[chain.length - 1];
  if (facts.state === 'unreadable') return { action: 'refuse', reason: 'its state file is unreadable; inspect the volume' };
  if (facts.state) {
    if (facts.state.origin === 'recovery' && facts.state.backupId === last.backupId) return { action: 'done' };
    const what = facts.state.backupId ? `backup ${facts.state.backupId}` : facts.state.origin;
    return {
      action: 'refuse',
      reason: `it already holds a complete datadir (${facts.state.origin}: ${what}); a recovery never overwrites one`,
    };
  }
  const clearDataDir = facts.dataDirEntries > 0;
  if (clearDataDir && !facts.journal?.placing)
    return { action: 'refuse', reason: 'its data directory holds files that no recovery placed there (no state file, no journal)' };
  const journal = facts.journal;
  if (!journal || journal.chain !== chainFingerprint(chain) || journal.verified.length !== chain.length)
    return {
      action: 'run',
      journal: freshJournal(chain),
      wipeWorkArea: true,
      clearDataDir,
      download: range(chain.length),
      prepare: true,
      reused: [],
    };
  if (journal.prepared && facts.linkDirs[0])
    return {
      action: 'run',
      journal: { ...journal, placing: false },
      wipeWorkArea: false,
      clearDataDir,
      download: [],
      prepare: false,
      reused: range(chain.length),
    };
  // Without a finished prepare: a link is kept when it was verified, its folder exists, and no cut prepare touched it.
  const touched = journal.prepared ? chain.length - 1 : (journal.preparing ?? -1);
  const verified = chain.map((_, i) => journal.verified[i] && facts.linkDirs[i] && i > touched);
  return {
    action: 'run',
    journal: { ...journal, verified, preparing: null, prepared: false, gtid: undefined, placing: false },
    wipeWorkArea: false,
    clearDataDir,
    download: range(chain.length).filter((i) => !verified[i]),
    prepare: true,
    reused: range(chain.length).filter((i) => verified[i]),
  };
}
