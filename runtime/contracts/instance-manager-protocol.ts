/**
 * The instance manager's HTTP protocol: what the sidecar (runtime/instance-manager/server.ts)
 * serves and what its callers (the physical backup source in runtime/datapath/sources/, the
 * controller naming the port) ask for. Both sides import this file, never each other.
 *
 * `GET /cluster/backup?incremental-lsn=N&compression=zstd&level=1` answers 200 with the (compressed)
 * backup stream, headers COMPRESSION_HEADER and EXPECTED_BYTES_HEADER, and TRAILERS after the last
 * byte; 409 when a backup is already running, 400 for a bad parameter, 500 when the backup cannot
 * start (each with a JSON body `{error}`). `GET /status` answers JSON, `GET /healthz` answers `ok`.
 */

/** The HTTPS port when the Pod names none (SILO_IM_PORT's default). */
export const INSTANCE_MANAGER_PORT = 8443;
/** The container port name the Pod advertises the instance manager on. */
export const INSTANCE_MANAGER_PORT_NAME = 'instance-mgr';

export const PATHS = {
  backup: '/cluster/backup',
  status: '/status',
  healthz: '/healthz',
} as const;

/** Query parameters of `GET /cluster/backup`. */
export const QUERY = {
  incrementalLsn: 'incremental-lsn',
  compression: 'compression',
  level: 'level',
} as const;

/** HTTP statuses the backup route answers besides 200. */
export const STATUS = {
  badRequest: 400,
  busy: 409,
  failedToStart: 500,
} as const;

/** Trailers that carry the outcome after the last byte, so a failed backup is never mistaken for a complete one. */
export const TRAILERS = {
  exit: 'x-silo-exit-status',
  /** After a failure: how the tool ended and, after a failed exit, its stderr line that says why (printable ASCII). */
  error: 'x-silo-error',
  fromLsn: 'x-silo-from-lsn',
  toLsn: 'x-silo-to-lsn',
  beginGTID: 'x-silo-begin-gtid',
  endGTID: 'x-silo-end-gtid',
  beginBinlog: 'x-silo-begin-binlog',
  endBinlog: 'x-silo-end-binlog',
  tool: 'x-silo-tool',
  sourceBytes: 'x-silo-source-bytes',
} as const;

/** Response header with the datadir's size, an upper bound the worker sizes multipart parts by. */
export const EXPECTED_BYTES_HEADER = 'x-silo-expected-bytes';

/** Response header naming the compression the instance manager applied (`none` when absent: an older instance manager). */
export const COMPRESSION_HEADER = 'x-silo-compression';

/** `https://<ip>:<port>`: the base URL a worker is given for one instance. */
export const instanceManagerUrl = (ip: string | undefined, port: number = INSTANCE_MANAGER_PORT): string => `https://${ip}:${port}`;

/**
 * `POST /cluster/replication` with JSON `ReplicationSourceRequest`: points a replica at the primary
 * (CHANGE MASTER … MASTER_USE_GTID=slave_pos; START SLAVE), keeping its GTID position. The Cluster
 * reconciler calls it when the primary's address changes. 200 with the new /status, 400 on a bad body,
 * 409 on a primary.
 */
export const REPLICATION_PATH = '/cluster/replication';
export interface ReplicationSourceRequest {
  readonly host: string;
  readonly port?: number;
}

/** The mysql engine's fields of `GET /status` (beside the shell's own: instance, backup state). */
export interface MysqlStatusFields {
  readonly serverId?: number;
  readonly readOnly?: boolean;
  /** @@gtid_binlog_pos, @@gtid_current_pos, @@gtid_slave_pos. */
  readonly gtidBinlogPos?: string;
  readonly gtidCurrentPos?: string;
  readonly gtidSlavePos?: string;
  /** null on a primary (no replica threads). */
  readonly replication?: {
    readonly ioRunning: boolean;
    readonly sqlRunning: boolean;
    readonly secondsBehindMaster: number | null;
    readonly gtidIoPos?: string;
    readonly masterHost?: string;
    readonly lastError?: string;
    readonly lastSqlErrno?: number;
  } | null;
  /** Set when the database did not answer. */
  readonly replicationError?: string;
}
