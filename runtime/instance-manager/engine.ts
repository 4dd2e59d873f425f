/**
 * The seam between the instance manager's shell (server.ts: mTLS, routing, /status, /healthz, one
 * backup at a time) and a database engine (engines/<name>/). The shell owns the protocol
 * (runtime/contracts/instance-manager-protocol.ts); an engine owns its tools, its request
 * parameters, its positions and its status fields. Only `mysql` exists; a PostgreSQL engine
 * implements the same interface beside it (docs/decisions/0021-instance-manager-engine-seam.md).
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../logging/logger.js';
import type { CompressionOptions } from '../datapath/stages/compression.js';
import type { ReplicationSourceRequest } from '../contracts/instance-manager-protocol.js';

export interface BackupStreamOutcome {
  /** The backup tool's exit status, or its signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Bytes the backup tool wrote (before compression); undefined if they could not be counted. */
  readonly sourceBytes?: number;
  /** The tool's stderr line that explains a failure (its last error line, else its last line), at most 300 characters. */
  readonly errorLine?: string;
}

export interface BackupStream {
  /** The (compressed) stream to send. It ends only after every byte the tool wrote. */
  readonly output: Readable;
  /** Where the compression runs: `zstd-cli`, `in-process`, or `none`. */
  readonly compressedBy: 'zstd-cli' | 'in-process' | 'none';
  /** Resolves once the tool has exited and the output has ended; rejects if compression failed. */
  readonly done: Promise<BackupStreamOutcome>;
  /** Kills the tool and the compressor and discards the output (the client went away). */
  stop(): void;
}

/** One running backup, as the engine started it. */
export interface EngineBackup {
  /** The backup tool's name (trailer `x-silo-tool`, metadata.json's tool.name). */
  readonly tool: string;
  /** An upper bound of the stream's size, sent as a part-size hint; undefined when unknown. */
  readonly expectedBytes?: number;
  readonly stream: BackupStream;
  /**
   * After the stream ended: the positions to send as trailers (by trailer name), and the fields
   * /status keeps in `lastBackup`.
   */
  finish(): { trailers: Record<string, string>; last: Record<string, string | undefined> };
  /** Removes the backup's working files; the shell calls it once, whatever happened. */
  dispose(): void;
}

export interface Engine {
  /** SILO_IM_ENGINE's value. */
  readonly name: string;
  /**
   * The engine's own query parameters of `GET /cluster/backup` (compression is the shell's).
   * `fields` are shown in /status while the backup runs and carried in its log lines.
   */
  backupRequest(params: URLSearchParams): { fields: Record<string, string | undefined> } | { error: string };
  /** Starts one backup; rejects (a 500 with the message) when it cannot start. */
  startBackup(
    fields: Record<string, string | undefined>,
    options: { compression: CompressionOptions; zstdCli?: string; log: Logger },
  ): Promise<EngineBackup>;
  /** Extra /status fields; never rejects (a database that does not answer must not hide the backup state). */
  status(): Promise<Record<string, unknown>>;
  /**
   * `POST /cluster/replication`: points this replica at another primary, keeping its position.
   * Rejects with an error carrying `status` (409: this instance is a primary) or any other error (500).
   * An engine without replication leaves it out and the route answers 404.
   */
  setReplicationSource?(request: ReplicationSourceRequest): Promise<void>;
}

/** How an engine reaches its local database. The password comes from a file, never from argv. */
export interface DatabaseConnection {
  readonly socket?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user: string;
  readonly passwordFile?: string;
}

/** Another user of the same database, its password from a mounted file. */
export interface DatabaseUser {
  readonly user: string;
  readonly passwordFile?: string;
}

export interface EngineOptions {
  readonly connection: DatabaseConnection;
  /** The backup tool's own user (e.g. silo_backup); without it the backup connects as `connection.user`. */
  readonly backupUser?: DatabaseUser;
  /** The user a replica connects to its primary as (`setReplicationSource`). */
  readonly replicationUser?: DatabaseUser;
  /** Instance name, for messages. */
  readonly instanceName: string;
}
