/**
 * The recovery step's steps on the volume, each recorded in the journal when it is done:
 * download → verify → extract one link (one streaming pass), prepare the chain, place the prepared
 * files into the data directory (move-back on one filesystem, copy-back across two). Failures are
 * classed by what failed: PrepareFailedError, CopyBackFailedError, VolumeFullError (a full disk,
 * whatever step ran out), StoredDataDamagedError (from the stream).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EngineDescriptor } from '../../contracts/engines.js';
import type { Logger } from '../../logging/logger.js';
import type { ObjectStore } from '../../objectstore/object-store.js';
import { streamRestore } from '../restore-pipeline.js';
import { ProcessSink, RestoreCommandError } from '../sinks/process-sink.js';
import { isEncrypted, type ChainLink } from './chain.js';
import { writeJournal, type RecoveryJournal } from './journal.js';
import type { RecoveryProgressTracker } from './progress.js';
import { canRenameBetween, linkTree, removeMatching, removeTree, syncFilesystem } from './volume.js';

const execFileAsync = promisify(execFile);

export class PrepareFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrepareFailedError';
  }
}

export class CopyBackFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyBackFailedError';
  }
}

/** The recovery's volume is full (ENOSPC, EDQUOT), in whatever step: extract, prepare or copy-back. */
export class VolumeFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeFullError';
  }
}

/** How mariabackup, mbstream and the C library say the disk is full. */
const NO_SPACE = /No space left on device|Disk quota exceeded|Errcode: (28|122)\b|errno[ :=]+(28|122)\b/i;

export interface RecoveryContext {
  readonly store: ObjectStore;
  readonly chain: readonly ChainLink[];
  readonly engine: EngineDescriptor;
  /** The prepare and copy-back tool (the engine's, unless overridden). */
  readonly tool: string;
  /** The work area of this recovery (`<work dir>/restore`): the journal and one folder per link. */
  readonly area: string;
  readonly dataDir: string;
  readonly identity?: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly tracker: RecoveryProgressTracker;
  journal: RecoveryJournal;
}

export const linkDir = (area: string, index: number) => join(area, `link-${index}`);
export const journalPath = (area: string) => join(area, 'journal.json');

/** Updates the journal, durably. */
export function record(ctx: RecoveryContext, patch: Partial<RecoveryJournal>): void {
  ctx.journal = { ...ctx.journal, ...patch };
  writeJournal(journalPath(ctx.area), ctx.journal);
}

async function runTool(ctx: RecoveryContext, args: string[], what: string, failure: 'prepare' | 'copy-back'): Promise<void> {
  try {
    await execFileAsync(ctx.tool, args, { maxBuffer: 64 * 1024 * 1024, signal: ctx.signal });
  } catch (error) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    const tail = stderr.split('\n').slice(-3).join(' | ') || (error as Error).message;
    if (NO_SPACE.test(stderr)) throw new VolumeFullError(`${what} ran out of disk space on the volume: ${tail}`);
    const message = `${what} failed: ${tail}`;
    throw failure === 'prepare' ? new PrepareFailedError(message) : new CopyBackFailedError(message);
  }
}

/** Download → SHA256 → age → decompress → extract into `staging-N`, renamed `link-N` once verified. */
export async function downloadLink(ctx: RecoveryContext, index: number): Promise<void> {
  const link = ctx.chain[index];
  const staging = join(ctx.area, `staging-${index}`);
  removeTree(staging);
  removeTree(linkDir(ctx.area, index));
  mkdirSync(staging, { recursive: true });
  ctx.tracker.phase('downloading', index);
  const extract = ctx.engine.restore.extract(staging);
  const sink = new ProcessSink(extract.command, [...extract.args], {
    logger: ctx.logger.child({ step: 'extract', backupId: link.backupId }),
    stdin: 'fifo',
  });
  let storedBytes: number;
  try {
    ({ storedBytes } = await streamRestore({
      store: ctx.store,
      key: link.key,
      expectedSha256: link.sha256,
      compression: link.compression,
      identity: isEncrypted(link, ctx.identity) ? ctx.identity : undefined,
      recipientFingerprints: link.recipientFingerprints,
      sink,
      signal: ctx.signal,
      onStoredBytes: (bytes) => ctx.tracker.linkBytes(bytes),
    }));
  } catch (error) {
    removeTree(staging);
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    const noSpace = sink.stderrTail.find((line) => NO_SPACE.test(line));
    if (error instanceof RestoreCommandError && noSpace)
      throw new VolumeFullError(`extracting backup ${link.backupId} ran out of disk space on the volume: ${noSpace}`);
    throw error;
  }
  // On disk before the journal says so: a crash after the record finds the files it promises.
  await syncFilesystem(staging);
  renameSync(staging, linkDir(ctx.area, index));
  ctx.tracker.linkDone(storedBytes);
  record(ctx, { verified: ctx.journal.verified.map((v, i) => v || i === index) });
  ctx.logger.info('backup verified and extracted', { backupId: link.backupId, position: index, storedBytes });
}

/** The GTID position the prepared base records, from the engine's position files. */
function readGtid(ctx: RecoveryContext, base: string): string | undefined {
  for (const name of ctx.engine.restore.positionFiles) {
    const path = join(base, name);
    if (existsSync(path)) return ctx.engine.restore.gtidOf(readFileSync(path, 'utf8'));
  }
  return undefined;
}

/** Prepares the base and applies each increment in order; the journal names the link being applied. */
export async function prepareChain(ctx: RecoveryContext): Promise<void> {
  const base = linkDir(ctx.area, 0);
  const { restore } = ctx.engine;
  for (const [index, link] of ctx.chain.entries()) {
    record(ctx, { preparing: index });
    ctx.tracker.phase('preparing', index);
    const args = index === 0 ? restore.prepareArgs(base) : restore.prepareArgs(base, linkDir(ctx.area, index));
    await runTool(ctx, args, `${ctx.tool} --prepare of ${index ? 'incremental ' : ''}${link.backupId}`, 'prepare');
  }
  const gtid = readGtid(ctx, base);
  await syncFilesystem(base);
  record(ctx, { preparing: null, prepared: true, gtid });
  ctx.logger.info('backup chain prepared', { links: ctx.chain.length, gtid });
}

/** Once prepared, the increments' folders hold nothing the placement needs. */
export function dropIncrements(ctx: RecoveryContext): void {
  for (let index = 1; index < ctx.chain.length; index++) removeTree(linkDir(ctx.area, index));
}

/**
 * Places the prepared base into the (empty) data directory. On one filesystem: the base is
 * hard-linked into `placing/` (no bytes copied) and `--move-back` renames those links into place,
 * so the prepared base stays whole and a cut placement is redone from it. Across filesystems:
 * `--copy-back`. Then the replica state the engine names is removed.
 */
export async function placeDatadir(ctx: RecoveryContext): Promise<'move-back' | 'copy-back'> {
  ctx.tracker.phase('moving');
  record(ctx, { placing: true });
  // Empty: the plan cleared what a killed run had placed; anything else there makes mariabackup refuse.
  mkdirSync(ctx.dataDir, { recursive: true });
  const base = linkDir(ctx.area, 0);
  const placement = canRenameBetween(ctx.area, ctx.dataDir) ? 'move-back' : 'copy-back';
  const { restore } = ctx.engine;
  if (placement === 'move-back') {
    const placing = join(ctx.area, 'placing');
    removeTree(placing);
    linkTree(base, placing);
    await runTool(ctx, restore.moveBackArgs(placing, ctx.dataDir), `${ctx.tool} --move-back into ${ctx.dataDir}`, 'copy-back');
    removeTree(placing);
  } else {
    await runTool(ctx, restore.copyBackArgs(base, ctx.dataDir), `${ctx.tool} --copy-back into ${ctx.dataDir}`, 'copy-back');
  }
  const removed = removeMatching(ctx.dataDir, restore.replicaState);
  ctx.logger.info('datadir placed', { dataDir: ctx.dataDir, placement, ...(removed.length ? { removedReplicaState: removed } : {}) });
  return placement;
}
