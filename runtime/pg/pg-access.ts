/**
 * Who may connect to an instance, and over what: PostgreSQL's TLS from the cluster PKI (the instance
 * certificate, decision 0270) and a pg_hba.conf/pg_ident.conf that Silo writes into the Pod's run
 * directory at every start, so a volume made by an older Silo, a base backup or a restore gets the
 * same rules (decision 0274). Replicas log in as `streaming_replica` with the instance certificate:
 * `cert` authentication, the certificate's CN mapped to that role; no replication password exists.
 */
import { join } from 'node:path';
import { PG_CN, PG_REPLICATION_USER, PG_RUN_DIR, PG_TLS_COPY } from '../contracts/pg-pods.js';
import { writeOwned } from './tls-files.js';

export const HBA_FILE = join(PG_RUN_DIR, 'pg_hba.conf');
export const IDENT_FILE = join(PG_RUN_DIR, 'pg_ident.conf');
const REPLICATION_MAP = 'silo-replication';

export const hbaText = (): string =>
  [
    '# Written by Silo at every start of the instance (decision 0274); edits here are lost.',
    'local   all          all                           peer',
    'local   replication  all                           peer',
    `hostssl replication  ${PG_REPLICATION_USER}  all  cert map=${REPLICATION_MAP}`,
    'host    all          all                all        scram-sha-256',
    '',
  ].join('\n');

export const identText = (): string => `${REPLICATION_MAP} ${PG_CN.instance} ${PG_REPLICATION_USER}\n`;

/**
 * One WAL sender per replica plus two for a replica's pg_basebackup, with room for a scale-up. A restore's
 * replay (restore.ts) must run with at least these: hot standby refuses WAL from a server with higher ones.
 */
export const REPLICATION_LIMITS = { max_wal_senders: '20', max_replication_slots: '20' } as const;

/** Writes the access files and returns postgres' settings that use them and turn TLS on (copies of the TLS files must exist). */
export function accessSettings(): Record<string, string> {
  writeOwned(HBA_FILE, hbaText());
  writeOwned(IDENT_FILE, identText());
  return {
    hba_file: HBA_FILE,
    ident_file: IDENT_FILE,
    ssl: 'on',
    ssl_cert_file: PG_TLS_COPY.cert,
    ssl_key_file: PG_TLS_COPY.key,
    // Client certificates (the replicas') are checked against the cluster CA.
    ssl_ca_file: PG_TLS_COPY.ca,
    ...REPLICATION_LIMITS,
  };
}
