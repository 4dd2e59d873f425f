/**
 * What the operator asks the primary in SQL (decision 0276): the `streaming_replica` role, one
 * physical slot per replica (created before the replica's Pod, so no WAL it needs is recycled; dropped
 * once the replica is gone and its WAL sender ended), and pg_stat_replication for the instances'
 * status. The operator logs in as the superuser over TLS checked against the cluster CA and the
 * primary's name; it reads metadata, never payload.
 */
import pg from 'pg';
import { PG_PORT, PG_REPLICATION_USER } from '../../../contracts/pg-pods.js';

export interface PrimaryEndpoint {
  readonly podIP: string;
  /** The name in the instance certificate. */
  readonly serverName: string;
  readonly ca: string;
  readonly password: string;
}

export interface WalSender {
  readonly applicationName: string;
  readonly state: string;
  readonly replayLsn?: string;
  readonly lagBytes?: number;
}

/** pg_stat_archiver: whether PostgreSQL's archive_command (pgBackRest's archive-push) fails now (decision 0283). */
export interface ArchiverStats {
  readonly failedCount: number;
  readonly lastArchivedWal?: string;
  readonly lastArchivedAt?: string;
  readonly lastFailedWal?: string;
  readonly lastFailedAt?: string;
}

export interface PrimaryReplication {
  readonly currentLsn: string;
  readonly senders: WalSender[];
  readonly slots: Array<{ name: string; active: boolean }>;
  readonly archiver?: ArchiverStats;
}

async function readArchiver(client: pg.Client): Promise<ArchiverStats> {
  // Times as epoch milliseconds: the text form follows the session's DateStyle and TimeZone.
  const { rows } = await client.query<{ f: string; aw: string | null; at: string | null; fw: string | null; ft: string | null }>(
    `SELECT failed_count::text AS f, last_archived_wal AS aw, (extract(epoch FROM last_archived_time) * 1000)::bigint::text AS at,
            last_failed_wal AS fw, (extract(epoch FROM last_failed_time) * 1000)::bigint::text AS ft FROM pg_stat_archiver`,
  );
  const r = rows[0];
  const iso = (ms: string | null) => (ms ? new Date(Number(ms)).toISOString() : undefined);
  return {
    failedCount: Number(r.f),
    ...(r.aw ? { lastArchivedWal: r.aw, lastArchivedAt: iso(r.at) } : {}),
    ...(r.fw ? { lastFailedWal: r.fw, lastFailedAt: iso(r.ft) } : {}),
  };
}

const SLOT_PATTERN = /^silo_.*_\d+$/;

export async function withPrimary<T>(endpoint: PrimaryEndpoint, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: endpoint.podIP,
    port: PG_PORT,
    user: 'postgres',
    database: 'postgres',
    password: endpoint.password,
    ssl: { ca: endpoint.ca, servername: endpoint.serverName, rejectUnauthorized: true },
    connectionTimeoutMillis: 5_000,
    statement_timeout: 10_000,
    application_name: 'silo-operator',
  });
  // A connection dropped by the server after connect would otherwise be an unhandled 'error' event.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function ensureReplicationRole(client: pg.Client): Promise<void> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [PG_REPLICATION_USER]);
  if (!rowCount) await client.query(`CREATE ROLE ${PG_REPLICATION_USER} WITH REPLICATION LOGIN`);
}

export async function readReplication(client: pg.Client): Promise<PrimaryReplication> {
  const lsn = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const senders = await client.query<{ application_name: string; state: string; replay_lsn: string | null; lag: string | null }>(
    `SELECT application_name, state, replay_lsn::text AS replay_lsn,
            pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint::text AS lag
       FROM pg_stat_replication`,
  );
  const slots = await client.query<{ slot_name: string; active: boolean }>(
    "SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical'",
  );
  return {
    archiver: await readArchiver(client),
    currentLsn: lsn.rows[0].lsn,
    senders: senders.rows.map((r) => ({
      applicationName: r.application_name,
      state: r.state,
      ...(r.replay_lsn ? { replayLsn: r.replay_lsn } : {}),
      ...(r.lag !== null ? { lagBytes: Math.max(0, Number(r.lag)) } : {}),
    })),
    slots: slots.rows.map((r) => ({ name: r.slot_name, active: r.active })),
  };
}

/**
 * Makes the primary hold exactly the wanted Silo slots: creates the missing ones (reserving WAL at
 * once) and drops Silo slots no replica wants, once inactive. Returns the slots it created and dropped.
 */
export async function syncSlots(
  client: pg.Client,
  existing: PrimaryReplication['slots'],
  wanted: readonly string[],
): Promise<{ created: string[]; dropped: string[] }> {
  const have = new Set(existing.map((s) => s.name));
  const created: string[] = [];
  for (const slot of wanted.filter((w) => !have.has(w))) {
    await client.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    created.push(slot);
  }
  const dropped: string[] = [];
  for (const slot of existing.filter((s) => SLOT_PATTERN.test(s.name) && !wanted.includes(s.name) && !s.active)) {
    await client.query('SELECT pg_drop_replication_slot($1)', [slot.name]);
    dropped.push(slot.name);
  }
  return { created, dropped };
}
