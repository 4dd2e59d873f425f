import { dirname, join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { readBackupMetadata } from '../datapath/backup-metadata.js';
import { alreadyRecovered, restorePhysicalChain } from '../datapath/physical-restore.js';
import { resolveChain } from '../datapath/recovery/chain.js';
import { streamRestore } from '../datapath/restore-pipeline.js';
import { ProcessSink } from '../datapath/sinks/process-sink.js';
import { withThreadsAhead } from '../datapath/threads/crypto-thread-stage.js';
import { createObjectStore } from '../objectstore/store-factory.js';
import { ConfigError } from '../contracts/config-error.js';
import { decodeRestoreEnv, type Env, type RestoreEnv } from '../contracts/worker-env.js';
import type { RecoveryResult } from '../contracts/worker-result.js';
import { DeadlineExceededError, RecoveryInterruptedError } from './exit-codes.js';

export type RestoreTargetSpec =
  | { mode: 'command'; command: string[] }
  /** workDir: Silo's working area on the volume (default: `silo` beside the data directory, as WORK_DIR is beside DATA_DIR). */
  | { mode: 'physical'; dataDir: string; workDir?: string };

/** The error a run ends with: the abort's reason (deadline, signal) when it was aborted. */
const rethrowAbort = (signal: AbortSignal) => (error: unknown) => {
  throw signal.aborted ? signal.reason : error;
};

async function restoreCommand(command: string[], config: RestoreEnv, logger: Logger, signal: AbortSignal): Promise<void> {
  const store = await createObjectStore(config.store);
  const { identity } = config;
  const metadata = await readBackupMetadata(store, config.metadataKey!);
  if (metadata.codec.encryption === 'age' && !identity)
    throw new ConfigError('the backup is age-encrypted but SILO_AGE_IDENTITY(_FILE) is not set; mount the identity Secret');
  const sink = new ProcessSink(command[0], command.slice(1), { logger: logger.child({ target: 'command' }), stdin: 'fifo' });
  await streamRestore({
    store,
    key: metadata.objectKey,
    expectedSha256: metadata.sha256,
    compression: metadata.codec.compression,
    identity: metadata.codec.encryption === 'age' ? identity : undefined,
    recipientFingerprints: metadata.codec.recipientFingerprints,
    sink,
    signal,
  }).catch(rethrowAbort(signal));
  logger.info('restore completed', { key: store.url(metadata.objectKey) });
}

/**
 * The recovery step: SILO_METADATA_KEYS' chain into the data directory, the state file last
 * (runtime/datapath/physical-restore.ts). With SILO_BACKUP_ID, a volume whose state file already
 * records that backup is done before the store is even opened.
 */
async function restorePhysical(
  target: { dataDir: string; workDir?: string },
  config: RestoreEnv,
  logger: Logger,
  signal: AbortSignal,
): Promise<RecoveryResult> {
  const workDir = target.workDir || join(dirname(target.dataDir), 'silo');
  const stateFile = join(workDir, 'state.json');
  const done = config.backupId ? alreadyRecovered(stateFile, workDir, config.backupId) : undefined;
  if (done) {
    logger.info('recovery already completed on this volume', { backupId: done.backupId });
    return done;
  }
  const store = await createObjectStore(config.store);
  const { chain, engine } = await resolveChain(store, config.metadataKeys!, {
    expectedSha256s: config.expectedSha256s,
    engine: config.engine,
  });
  const last = chain[chain.length - 1];
  if (config.backupId && last.backupId !== config.backupId)
    throw new ConfigError(
      `SILO_BACKUP_ID is ${config.backupId}, but the last link of SILO_METADATA_KEYS is backup ${last.backupId}; name the backup the chain ends with`,
    );
  return restorePhysicalChain({
    store,
    chain,
    engine,
    workDir,
    dataDir: target.dataDir,
    stateFile,
    identity: config.identity,
    logger,
    signal,
  }).catch(rethrowAbort(signal));
}

/**
 * Restores what metadata.json describes. Command mode streams into the restore command's stdin and
 * closes it only after the checksum matched (docs/decisions/0009-restore-verification.md); physical
 * mode is the recovery step. SIGTERM and SIGINT stop a physical restore as `interrupted`: its
 * children are killed, and a rerun resumes from the journal.
 */
export async function runRestore(target: RestoreTargetSpec, env: Env, logger: Logger): Promise<RecoveryResult | undefined> {
  if (target.mode === 'command' && !target.command.length) throw new ConfigError('no restore command given; pass it after --');
  const config = decodeRestoreEnv(env, target.mode);
  const deadline = config.deadlineSeconds;
  const abort = new AbortController();
  const timer = deadline ? setTimeout(() => abort.abort(new DeadlineExceededError(deadline)), deadline * 1000) : undefined;
  const onSignal = (signal: NodeJS.Signals) => abort.abort(new RecoveryInterruptedError(signal));
  if (target.mode === 'physical') for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, onSignal);
  try {
    // The stream's two threads (crypto, delivery) boot while the store's SDK loads and metadata.json is read.
    if (target.mode === 'command')
      return void (await withThreadsAhead(2, () => restoreCommand(target.command, config, logger, abort.signal)));
    return await withThreadsAhead(2, () => restorePhysical(target, config, logger, abort.signal));
  } finally {
    if (timer) clearTimeout(timer);
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.off(s, onSignal);
  }
}
