import type { Readable } from 'node:stream';
import type { Logger } from '../logging/logger.js';
import { recipientFingerprint, writeBackupMetadata } from '../datapath/backup-metadata.js';
import { streamBackup } from '../datapath/backup-pipeline.js';
import { FifoSource } from '../datapath/sources/fifo-source.js';
import { InstanceManagerSource } from '../datapath/sources/instance-manager-source.js';
import { ProcessSource } from '../datapath/sources/process-source.js';
import { createObjectStore } from '../objectstore/store-factory.js';
import type { BackupMetadata } from '../../src/generated/api-types.js';
import { ConfigError, DeadlineExceededError } from './exit-codes.js';
import { compressOnFromEnv, compressionFromEnv, deadlineFromEnv, expectedBytesFromEnv, recipientsFromEnv, required, storeConfigFromEnv, type Env } from './worker-env.js';
import { readFileSync } from 'node:fs';

export type BackupSourceSpec =
  | { mode: 'command'; command: string[] }
  | { mode: 'fifo'; data: string; status: string }
  | { mode: 'physical'; instanceManager: string };

/**
 * One backup: source → zstd/gzip → age → SHA256 → store, then metadata.json
 * last. Returns the metadata document that was written.
 */
export async function runBackup(source: BackupSourceSpec, env: Env, logger: Logger): Promise<BackupMetadata> {
  // Every setting is checked before the source starts; the store's SDK loads while the source warms up.
  const storeConfig = storeConfigFromEnv(env);
  const key = required(env, 'SILO_DATA_KEY', 'set it to the object key of the backup data');
  const metadataKey = env.SILO_METADATA_KEY || `${key}.metadata.json`;
  const compression = compressionFromEnv(env);
  const recipients = recipientsFromEnv(env);
  const deadline = deadlineFromEnv(env);
  const expectedBytes = expectedBytesFromEnv(env);
  const backupId = required(env, 'SILO_BACKUP_ID', 'set it to the time-ordered backup ID');

  let stream: Readable;
  let physical: InstanceManagerSource | undefined;
  if (source.mode === 'command') {
    if (!source.command.length) throw new ConfigError('no backup command given; pass it after --');
    stream = new ProcessSource({ command: source.command[0], args: source.command.slice(1), logger: logger.child({ source: 'command' }) });
  } else if (source.mode === 'fifo') {
    stream = new FifoSource(source.data, source.status);
  } else {
    const read = (name: string) => readFileSync(required(env, name, 'mount the Cluster\'s PKI Secret and point it at the file'), 'utf8');
    physical = new InstanceManagerSource({
      url: source.instanceManager, incrementalLsn: env.SILO_INCREMENTAL_LSN || undefined,
      compression: compressOnFromEnv(env) === 'instance' ? compression : undefined,
      tls: { ca: read('SILO_TLS_CA_FILE'), cert: read('SILO_TLS_CERT_FILE'), key: read('SILO_TLS_KEY_FILE'), servername: env.SILO_TLS_SERVER_NAME || undefined },
    });
    stream = physical;
  }
  // Until the pipeline takes the stream (after the store loads and, for a physical backup, the response
  // headers), its errors reach the pipeline through its errored state (and `encoding`); an 'error'
  // event with no listener would crash the worker with exit code 1.
  stream.on('error', () => undefined);

  // The source is starting (a process spawning, the instance manager preparing mariabackup): load the
  // store's SDK now, on an otherwise idle main thread, rather than in front of the first byte.
  const store = await createObjectStore(storeConfig).catch((error) => { stream.destroy(); throw error; });
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
      if (physical) logger.info('instance manager answered', { compressedOn: sourceCompressed ? 'instance' : 'worker', expectedBytes: physical.expectedBytes });
      return streamBackup({
        source: stream, store, key, compression, sourceCompressed, recipients, signal: abort.signal, expectedBytes: expectedBytes ?? physical?.expectedBytes,
        onProgress: (p) => logger.info('progress', p),
      });
    })().catch((error) => { throw abort.signal.aborted ? abort.signal.reason : error; });
    const positions = physical?.positions ?? {};
    // Bytes that arrived already compressed are not the source's size: only the instance manager's count is.
    const sourceBytes = physical?.sourceBytes ?? (sourceCompressed ? undefined : result.sourceBytes);
    const metadata: BackupMetadata = {
      formatVersion: 1,
      kind: source.mode === 'physical' ? 'physical' : 'command',
      backupId,
      type: (env.SILO_BACKUP_TYPE as BackupMetadata['type']) || 'full',
      ...(env.SILO_PARENT_BACKUP_ID ? { parentBackupId: env.SILO_PARENT_BACKUP_ID } : {}),
      method: source.mode === 'physical' ? 'xtrabackup' : 'command',
      ...(env.SILO_CLUSTER ? { cluster: { name: env.SILO_CLUSTER, namespace: env.SILO_NAMESPACE ?? '' } } : {}),
      ...(env.SILO_BACKUP_NAME ? { backup: { name: env.SILO_BACKUP_NAME, namespace: env.SILO_NAMESPACE ?? '' } } : {}),
      ...(env.SILO_SOURCE_INSTANCE ? { sourceInstance: env.SILO_SOURCE_INSTANCE } : {}),
      objectKey: key,
      codec: {
        compression: compression.algorithm, ...(compression.level ? { level: compression.level } : {}),
        encryption: recipients.length ? 'age' : 'none', recipientFingerprints: recipients.map(recipientFingerprint),
      },
      sizes: { storedBytes: result.storedBytes, ...(sourceBytes === undefined ? {} : { sourceBytes }) },
      sha256: result.sha256,
      startedAt: result.startedAt.toISOString(),
      stoppedAt: result.stoppedAt.toISOString(),
      ...(positions.beginGTID || positions.endGTID ? { gtid: { begin: positions.beginGTID, end: positions.endGTID } } : {}),
      ...(positions.beginBinlog || positions.endBinlog ? { binlog: { begin: positions.beginBinlog, end: positions.endBinlog } } : {}),
      ...(positions.toLsn ? { lsn: { ...(positions.fromLsn ? { from: positions.fromLsn } : {}), to: positions.toLsn } } : {}),
      ...(positions.tool ? { tool: { name: positions.tool } } : {}),
    };
    await writeBackupMetadata(store, metadataKey, JSON.parse(JSON.stringify(metadata)));
    logger.info('backup completed', { key: store.url(key), storedBytes: result.storedBytes, sha256: result.sha256 });
    return metadata;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
