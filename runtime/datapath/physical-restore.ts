/**
 * A physical restore as the recovery step of a Cluster (`silo restore physical` in the recovery Job,
 * on the first instance's volume): download → verify → extract each link, prepare the chain, place
 * the prepared files into the data directory, then write the volume's state file last, durably.
 * Resumable: the journal in the work area (recovery/journal.ts) lets a rerun of the same command
 * after a kill at any point finish without manual cleanup; idempotent: a volume whose state file
 * already records this backup is left as it is. docs/decisions/0009, 0040, 0041.
 */
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import type { ObjectStore } from '../objectstore/object-store.js';
import type { EngineDescriptor } from '../contracts/engines.js';
import { ConfigError } from '../contracts/config-error.js';
import type { VolumeState } from '../contracts/instance-pod.js';
import { RECOVERY_PROGRESS_MESSAGE, recoveryProgressFields, type RecoveryProgress } from '../contracts/recovery-progress.js';
import type { RecoveryResult } from '../contracts/worker-result.js';
import { preflightChain, type ChainLink } from './recovery/chain.js';
import { planRecovery, readJournal, readVolumeState } from './recovery/journal.js';
import { RecoveryProgressTracker } from './recovery/progress.js';
import {
  downloadLink,
  dropIncrements,
  journalPath,
  linkDir,
  placeDatadir,
  prepareChain,
  record,
  type RecoveryContext,
} from './recovery/steps.js';
import { clearDirectory, entriesOf, removeTree, syncFilesystem, writeFileDurably } from './recovery/volume.js';

export { PrepareFailedError, CopyBackFailedError, VolumeFullError } from './recovery/steps.js';
export type { ChainLink } from './recovery/chain.js';

export interface PhysicalRestoreOptions {
  readonly store: ObjectStore;
  readonly chain: readonly ChainLink[];
  /** Silo's working area on the volume (WORK_DIR): the state file, and `restore/` while a recovery runs. */
  readonly workDir: string;
  /** The data directory that receives the prepared files (DATA_DIR); empty or absent at the start. */
  readonly dataDir: string;
  /** The volume's state file, written last; default `<workDir>/state.json` (STATE_FILE). */
  readonly stateFile?: string;
  readonly identity?: string;
  readonly logger: Logger;
  /** The engine that wrote the chain: its extract, prepare and copy-back commands (runtime/contracts/engines.ts). */
  readonly engine: EngineDescriptor;
  /** Overrides the engine's prepare tool (e.g. xtrabackup instead of mariabackup). */
  readonly tool?: string;
  /** Aborts the run (deadline, SIGTERM) with its reason; children are killed. */
  readonly signal?: AbortSignal;
  /** Where progress goes; default: a `recovery progress` log line (runtime/contracts/recovery-progress.ts). */
  readonly onProgress?: (progress: RecoveryProgress) => void;
}

/** The state file records `backupId` already: the recovery is done (its work area, if any is left, is removed). */
export function alreadyRecovered(stateFile: string, workDir: string, backupId: string): RecoveryResult | undefined {
  const state = readVolumeState(stateFile);
  if (!state || state === 'unreadable' || state.origin !== 'recovery' || state.backupId !== backupId) return undefined;
  removeTree(join(workDir, 'restore'));
  return { backupId, gtid: state.gtid, alreadyRecovered: true, durations: {} };
}

/** Reads the volume, plans, and prepares the work area for the plan's first step. */
async function startRun(options: PhysicalRestoreOptions, area: string, stateFile: string) {
  const { chain, dataDir } = options;
  const plan = planRecovery(chain, {
    state: readVolumeState(stateFile),
    journal: readJournal(journalPath(area)),
    dataDirEntries: entriesOf(dataDir).length,
    linkDirs: chain.map((_, i) => existsSync(linkDir(area, i))),
  });
  if (plan.action === 'refuse') throw new ConfigError(`the volume of ${dataDir} cannot take this recovery: ${plan.reason}`);
  if (plan.action === 'done') return plan;
  // Nothing on the volume changes before every link to download exists, has its size, and opens with the identity.
  await preflightChain(
    options.store,
    plan.download.map((i) => chain[i]),
    options.identity,
  );
  // Cleared while the old journal still vouches for the files there; then the new journal is written.
  if (plan.clearDataDir) clearDirectory(dataDir);
  if (plan.wipeWorkArea) removeTree(area);
  mkdirSync(area, { recursive: true });
  for (const i of plan.download) removeTree(linkDir(area, i));
  return plan;
}

export async function restorePhysicalChain(options: PhysicalRestoreOptions): Promise<RecoveryResult> {
  const { chain, logger } = options;
  if (!chain.length) throw new Error('restore chain is empty');
  const area = join(options.workDir, 'restore');
  const stateFile = options.stateFile ?? join(options.workDir, 'state.json');
  const backupId = chain[chain.length - 1].backupId;
  const plan = await startRun(options, area, stateFile);
  if (plan.action === 'done') return alreadyRecovered(stateFile, options.workDir, backupId)!;

  const emit = options.onProgress ?? ((p: RecoveryProgress) => logger.info(RECOVERY_PROGRESS_MESSAGE, recoveryProgressFields(p)));
  const total = chain.reduce((sum, link) => sum + (link.storedBytes ?? 0), 0);
  const tracker = new RecoveryProgressTracker(emit, total, chain.length);
  const ctx: RecoveryContext = {
    store: options.store,
    chain,
    engine: options.engine,
    tool: options.tool ?? options.engine.restore.tool,
    area,
    dataDir: options.dataDir,
    identity: options.identity,
    logger,
    signal: options.signal,
    tracker,
    journal: plan.journal,
  };
  record(ctx, {});
  if (plan.reused.length) logger.info('resuming a recovery', { reusedLinks: plan.reused, prepared: !plan.prepare });
  for (const i of plan.reused) tracker.skipped(chain[i].storedBytes ?? 0);
  tracker.start();
  try {
    for (const index of plan.download) await downloadLink(ctx, index);
    if (plan.prepare) await prepareChain(ctx);
    dropIncrements(ctx);
    const placement = await placeDatadir(ctx);
    tracker.phase('finalizing');
    await syncFilesystem(options.dataDir);
    const state: VolumeState = { origin: 'recovery', completedAt: new Date().toISOString(), gtid: ctx.journal.gtid, backupId };
    mkdirSync(options.workDir, { recursive: true });
    writeFileDurably(stateFile, JSON.stringify(state, null, 2) + '\n');
    removeTree(area);
    const durations = tracker.stop();
    logger.info('recovery completed', { backupId, gtid: state.gtid, placement, durations, reusedLinks: plan.reused.length });
    return { backupId, gtid: state.gtid, alreadyRecovered: false, placement, reusedLinks: plan.reused.length, durations };
  } finally {
    tracker.stop();
  }
}
