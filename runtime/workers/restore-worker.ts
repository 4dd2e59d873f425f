import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { readBackupMetadata } from '../datapath/backup-metadata.js';
import { restorePhysicalChain, type ChainLink } from '../datapath/physical-restore.js';
import { streamRestore } from '../datapath/restore-pipeline.js';
import { ProcessSink } from '../datapath/sinks/process-sink.js';
import { createObjectStore } from '../objectstore/store-factory.js';
import { ConfigError } from '../contracts/config-error.js';
import { engineForMethod, engineNamed } from '../contracts/engines.js';
import { decodeRestoreEnv, type Env } from '../contracts/worker-env.js';
import { DeadlineExceededError } from './exit-codes.js';

export type RestoreTargetSpec = { mode: 'command'; command: string[] } | { mode: 'physical'; dataDir: string; workDir: string };

/**
 * Restores what metadata.json describes. Command mode streams into the restore
 * command's stdin and closes it only after the checksum matched
 * (docs/decisions/0009-restore-verification.md); physical mode verifies,
 * extracts, prepares the chain (SILO_METADATA_KEYS, oldest first) and copies back.
 */
export async function runRestore(target: RestoreTargetSpec, env: Env, logger: Logger): Promise<void> {
  if (target.mode === 'command' && !target.command.length) throw new ConfigError('no restore command given; pass it after --');
  const config = decodeRestoreEnv(env, target.mode);
  const store = await createObjectStore(config.store);
  const { identity, deadlineSeconds: deadline } = config;
  const abort = new AbortController();
  const timer = deadline ? setTimeout(() => abort.abort(new DeadlineExceededError(deadline)), deadline * 1000) : undefined;
  try {
    if (target.mode === 'command') {
      const metadata = await readBackupMetadata(store, config.metadataKey!);
      if (metadata.codec.encryption === 'age' && !identity)
        throw new ConfigError('the backup is age-encrypted but SILO_AGE_IDENTITY(_FILE) is not set; mount the identity Secret');
      const sink = new ProcessSink(target.command[0], target.command.slice(1), { logger: logger.child({ target: 'command' }) });
      await streamRestore({
        store,
        key: metadata.objectKey,
        expectedSha256: metadata.sha256,
        compression: metadata.codec.compression,
        identity: metadata.codec.encryption === 'age' ? identity : undefined,
        sink,
        signal: abort.signal,
      }).catch((error) => {
        throw abort.signal.aborted ? abort.signal.reason : error;
      });
      logger.info('restore completed', { key: store.url(metadata.objectKey) });
      return;
    }
    const chain: ChainLink[] = [];
    let engine = undefined as ReturnType<typeof engineForMethod>;
    for (const key of config.metadataKeys!) {
      const metadata = await readBackupMetadata(store, key);
      if (chain.length && metadata.parentBackupId && metadata.parentBackupId !== chain[chain.length - 1].backupId) {
        throw new ConfigError(
          `backup ${metadata.backupId} is based on ${metadata.parentBackupId}, not on ${chain[chain.length - 1].backupId}; list the chain oldest first`,
        );
      }
      // The engine that wrote the backup restores it: metadata.json's method names it, else SILO_ENGINE (mysql).
      engine ??= engineForMethod(metadata.method) ?? engineNamed(config.engine!);
      chain.push({
        key: metadata.objectKey,
        sha256: metadata.sha256,
        compression: metadata.codec.compression,
        backupId: metadata.backupId,
      });
    }
    await restorePhysicalChain({
      store,
      chain,
      engine: engine!,
      workDir: target.workDir || join(target.dataDir, '..', 'silo-restore'),
      dataDir: target.dataDir,
      identity,
      logger,
    });
  } finally {
    if (timer) clearTimeout(timer);
  }
}
