import type { Readable } from 'node:stream';
import type { Logger } from '../logging/logger.js';
import { recipientFingerprint, writeBackupMetadata } from '../datapath/backup-metadata.js';
import { streamBackup, type BackupStreamResult } from '../datapath/backup-pipeline.js';
import { FifoSource } from '../datapath/sources/fifo-source.js';
import { InstanceManagerSource } from '../datapath/sources/instance-manager-source.js';
import { ProcessSource } from '../datapath/sources/process-source.js';
import { createObjectStore } from '../objectstore/store-factory.js';
import type { BackupMetadata } from '../../src/api/metadata/types.js';
import { ConfigError } from '../contracts/config-error.js';
import { engineNamed } from '../contracts/engines.js';
import { decodeBackupEnv, type BackupEnv, type Env } from '../contracts/worker-env.js';
import { DeadlineExceededError } from './exit-codes.js';

export type BackupSourceSpec =
  { mode: 'command'; command: string[] } | { mode: 'fifo'; data: string; status: string } | { mode: 'physical'; instanceManager: string };

/** Starts the source the mode names: a process, a FIFO pair, or the instance manager (then also returned as `physical`). */
function openSource(source: BackupSourceSpec, config: BackupEnv, logger: Logger): { stream: Readable; physical?: InstanceManagerSource } {
  if (source.mode === 'command') {
    if (!source.command.length) throw new ConfigError('no backup command given; pass it after --');
    return {
      stream: new ProcessSource({ command: source.command[0], args: source.command.slice(1), logger: logger.child({ source: 'command' }) }),
    };
  }
  if (source.mode === 'fifo') return { stream: new FifoSource(source.data, source.status) };
  const { incrementalLsn, compressOn, tls } = config.physical!;
  const physical = new InstanceManagerSource({
    url: source.instanceManager,
    incrementalLsn,
    compression: compressOn === 'instance' ? config.compression : undefined,
    tls,
  });
  return { stream: physical, physical };
}

/** The cluster, the Backup and the instance the backup came from, where the worker was told them. */
function originFields(config: BackupEnv): Partial<BackupMetadata> {
  return {
    ...(config.cluster ? { cluster: { name: config.cluster, namespace: config.namespace ?? '' } } : {}),
    ...(config.backupName ? { backup: { name: config.backupName, namespace: config.namespace ?? '' } } : {}),
    ...(config.sourceInstance ? { sourceInstance: config.sourceInstance } : {}),
  };
}

/** The positions the instance manager reported (GTID, binlog, LSN) and the tool that took the backup. */
function positionFields(positions: InstanceManagerSource['positions']): Partial<BackupMetadata> {
  return {
    ...(positions.beginGTID || positions.endGTID ? { gtid: { begin: positions.beginGTID, end: positions.endGTID } } : {}),
    ...(positions.beginBinlog || positions.endBinlog ? { binlog: { begin: positions.beginBinlog, end: positions.endBinlog } } : {}),
    ...(positions.toLsn ? { lsn: { ...(positions.fromLsn ? { from: positions.fromLsn } : {}), to: positions.toLsn } } : {}),
    ...(positions.tool ? { tool: { name: positions.tool } } : {}),
  };
}

/** The metadata.json document of one finished backup. */
function backupMetadata(run: {
  mode: BackupSourceSpec['mode'];
  config: BackupEnv;
  result: BackupStreamResult;
  physical?: InstanceManagerSource;
  sourceCompressed: boolean;
}): BackupMetadata {
  const { mode, config, result, physical, sourceCompressed } = run;
  const { compression, recipients } = config;
  // Bytes that arrived already compressed are not the source's size: only the instance manager's count is.
  const sourceBytes = physical?.sourceBytes ?? (sourceCompressed ? undefined : result.sourceBytes);
  return {
    formatVersion: 1,
    kind: mode === 'physical' ? 'physical' : 'command',
    backupId: config.backupId,
    type: config.backupType,
    ...(config.parentBackupId ? { parentBackupId: config.parentBackupId } : {}),
    method: config.physical ? (engineNamed(config.physical.engine)!.physicalMethod as BackupMetadata['method']) : 'command',
    ...originFields(config),
    objectKey: config.dataKey,
    codec: {
      compression: compression.algorithm,
      ...(compression.level ? { level: compression.level } : {}),
      encryption: recipients.length ? 'age' : 'none',
      recipientFingerprints: recipients.map(recipientFingerprint),
    },
    sizes: { storedBytes: result.storedBytes, ...(sourceBytes === undefined ? {} : { sourceBytes }) },
    sha256: result.sha256,
    startedAt: result.startedAt.toISOString(),
    stoppedAt: result.stoppedAt.toISOString(),
    ...positionFields(physical?.positions ?? {}),
  };
}

/**
 * One backup: source → zstd/gzip → age → SHA256 → store, then metadata.json
 * last. Returns the metadata document that was written.
 */
export async function runBackup(source: BackupSourceSpec, env: Env, logger: Logger): Promise<BackupMetadata> {
  // Every setting is checked before the source starts; the store's SDK loads while the source warms up.
  const config = decodeBackupEnv(env, source.mode);
  const { dataKey: key, metadataKey, compression, recipients, expectedBytes } = config;
  const deadline = config.deadlineSeconds;

  const { stream, physical } = openSource(source, config, logger);
  // Until the pipeline takes the stream (after the store loads and, for a physical backup, the response
  // headers), its errors reach the pipeline through its errored state (and `encoding`); an 'error'
  // event with no listener would crash the worker with exit code 1.
  stream.on('error', () => undefined);

  // The source is starting (a process spawning, the instance manager preparing mariabackup): load the
  // store's SDK now, on an otherwise idle main thread, rather than in front of the first byte.
  const store = await createObjectStore(config.store).catch((error) => {
    stream.destroy();
    throw error;
  });
  const abort = new AbortController();
  const timer = deadline ? setTimeout(() => abort.abort(new DeadlineExceededError(deadline)), deadline * 1000) : undefined;
  // The deadline also covers waiting for the instance manager's first answer, before the pipeline exists.
  abort.signal.addEventListener('abort', () => stream.destroy(abort.signal.reason as Error), { once: true });
  logger.info('backup started', { key: store.url(key), compression: compression.algorithm, encrypted: recipients.length > 0 });
  let sourceCompressed = false;
  try {
    const result = await (async () => {
      // An older instance manager ignores the compression parameter; then the worker compresses.
      sourceCompressed = physical ? (await physical.encoding) !== 'none' : false;
      if (physical)
        logger.info('instance manager answered', {
          compressedOn: sourceCompressed ? 'instance' : 'worker',
          expectedBytes: physical.expectedBytes,
        });
      return streamBackup({
        source: stream,
        store,
        key,
        compression,
        sourceCompressed,
        recipients,
        signal: abort.signal,
        expectedBytes: expectedBytes ?? physical?.expectedBytes,
        onProgress: (p) => logger.info('progress', p),
      });
    })().catch((error) => {
      throw abort.signal.aborted ? abort.signal.reason : error;
    });
    const metadata = backupMetadata({ mode: source.mode, config, result, physical, sourceCompressed });
    await writeBackupMetadata(store, metadataKey, JSON.parse(JSON.stringify(metadata)));
    logger.info('backup completed', { key: store.url(key), storedBytes: result.storedBytes, sha256: result.sha256 });
    return metadata;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
