/**
 * `silo pg restore`: the init container of a primary made from spec.dataSource (decisions 0290, 0291).
 * 1. copying: `pgbackrest restore` fills PGDATA from the SOURCE's repository, through the source's repo
 *    host (the plan's pgbackrest.conf), with the backup set and target the operator resolved;
 * 2. recovering: postgres replays to the target with archive_mode off and listening on its socket only,
 *    so nothing of the copy reaches the source's stanza and no client sees it half-way; it promotes;
 * 3. the superuser takes this cluster's password, a checkpoint, a clean stop, and the database
 *    container starts with the cluster's own repositories.
 * The step is kept on the volume: a restart after an interruption copies again (copying) or lets
 * PostgreSQL resume its replay (recovering); a failure is kept too, and repeated, never retried.
 * An interruption this process sees itself (the repo host lost mid-copy, postgres killed mid-replay)
 * ends the run with EXIT.interrupted and nothing kept but the count: the kubelet's restart resumes it,
 * and the run after PG_RESTORE_MAX_ATTEMPTS fails for good (decision 0282).
 */
import { spawn } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { REPLICATION_LIMITS } from './pg-access.js';
import { PG_PORT, PG_RUN_DIR, PG_SOCKET_DIR, PG_STANZA, PG_SUPERUSER_MOUNT, PG_VOLUME_MOUNT, PGDATA } from '../contracts/pg-pods.js';
import {
  PG_RESTORE_STATE_FILE,
  PG_RESTORE_TLS_COPY_DIR,
  PG_RESTORE_TLS_MOUNT,
  PG_RESTORE_VAR,
  PG_RESTORE_PROGRESS_INTERVAL_MS,
  PG_RESTORE_PROGRESS_MSG,
  PGBACKREST_RESTORE_CONF_FILE,
  PG_RESTORE_MAX_ATTEMPTS,
  type PgRestorePlan,
  type PgRestoreReached,
  type PgRestoreState,
} from '../contracts/pg-restore.js';
import { ConfigError } from '../contracts/config-error.js';
import { pgbackrestOutcome } from './pgbackrest-outcome.js';
import { postgresIds, runAsPostgres, spawnAsPostgres } from './pgbackrest-process.js';
import { CopyProgress, dirBytes, WalkPacer } from './restore-progress.js';
import { copyTlsFiles, ownedDir, writeOwned } from './tls-files.js';

const PG_BIN = process.env.SILO_PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** PostgreSQL's words when the archive ends before the target (PG 13+): it stops with FATAL, and would again on every start. */
export const TARGET_NOT_REACHED = /recovery ended before configured recovery target was reached/;

/** PostgreSQL's words when it ends a start because an earlier one is not quite gone (a killed postmaster's children). */
const STALE_SERVER = /shared memory block .* is still in use|lock file .* already exists|aborting startup due to startup process failure/;
/** PostgreSQL's words when restore_command failed hard (exit 255 from restoreCommand: anything but a missing segment). */
const REPOSITORY_LOST = /could not restore file .* from archive/;
/**
 * pgBackRest's words for a connection lost or refused (the source's repo host deleted or restarting, the network):
 * another run may get through. A repo host deleted mid-copy leaves 2.45's client with `[039]: client state is
 * 'data-get' but expected 'idle'` (measured in pg-restore-kills.test.ts); from a bundled repository its `local-1`
 * process dies on SIGSEGV instead (`[102]: local-1 process terminated unexpectedly on signal 11`). A local process
 * that ended on a signal leaves PGDATA as a kill of the whole restore does, which resumes (the copy starts over), and
 * one that crashes every time ends after PG_RESTORE_MAX_ATTEMPTS. Credentials, passphrases, stanzas and certificates
 * refused are not retried.
 */
const TRANSIENT_COPY =
  /HostConnectError|ProtocolError|unexpected (eof|end of)|connection (reset|refused|closed)|broken pipe|timed? ?out|unable to connect|client state is '[a-z-]+' but expected|process terminated unexpectedly on signal/i;

export type RestoreOutcome = { ok: true; reached: PgRestoreReached } | { ok: false; reason: string; error: string; interrupted?: boolean };

/** A copy that failed: interrupted (resumed by the next run) when it was killed or lost its connection, else a failure kept. */
export function copyFailure(code: number | null, output: string): RestoreOutcome {
  const outcome = pgbackrestOutcome(code, output);
  const reason = outcome.reason ?? 'RestoreFailed';
  const error = outcome.message ?? `pgbackrest restore exited with ${code}`;
  const interrupted = code === null || reason === 'RepoHostUnreachable' || (reason === 'PgBackRestFailed' && TRANSIENT_COPY.test(output));
  return { ok: false, reason, error, ...(interrupted ? { interrupted } : {}) };
}

/** Why postgres ended a replay early: the target not reached (kept), killed or a start too soon after a kill (resumed), else kept. */
export function recoveryEnd(signal: string | null, notReached: boolean, lastLine: string): RestoreOutcome & { ok: false } {
  if (notReached)
    return { ok: false, reason: 'TargetNotReached', error: 'PostgreSQL: recovery ended before configured recovery target was reached' };
  if (signal)
    return { ok: false, reason: 'RestoreInterrupted', error: `postgres was killed (${signal}) during recovery`, interrupted: true };
  if (REPOSITORY_LOST.test(lastLine))
    return {
      ok: false,
      reason: 'RestoreInterrupted',
      error: `the replay lost the repository: ${lastLine.slice(0, 300)}`,
      interrupted: true,
    };
  if (STALE_SERVER.test(lastLine))
    return { ok: false, reason: 'RestoreInterrupted', error: `postgres could not start yet: ${lastLine.slice(0, 300)}`, interrupted: true };
  return { ok: false, reason: 'RestoreFailed', error: `postgres stopped during recovery: ${lastLine.slice(0, 400) || 'no FATAL line'}` };
}

/**
 * PostgreSQL takes any restore_command failure below 126 for "no more WAL" and, without a target, promotes there: a
 * repository lost mid-replay would end the restore early without a word. pgBackRest's archive-get exits 1 only for a
 * segment that is not in the archive; every other failure becomes 255, which PostgreSQL treats as fatal, and the run
 * ends as an interruption (decision 0282).
 */
export const restoreCommand = (repo: number): string =>
  `pgbackrest --config=${PGBACKREST_RESTORE_CONF_FILE} --stanza=${PG_STANZA} --repo=${repo} --pg1-path=${PGDATA} archive-get %f "%p" || { rc=$?; [ $rc -eq 1 ] && exit 1; exit 255; }`;

/** The most copy processes a restore starts by itself; each has a partner process on the source's repo host. */
export const RESTORE_PROCESS_MAX_CAP = 4;

/**
 * pgBackRest's process-max for the copy, unless the restore's own options set one. Nothing is served from PGDATA
 * while it fills, so the copy takes the cores this container sees, up to RESTORE_PROCESS_MAX_CAP, where pgBackRest's
 * default of 1 is sized for a backup beside a serving database (decision 0043).
 */
export function restoreProcessMax(plan: PgRestorePlan, cores = availableParallelism()): string[] {
  if (plan.options?.some((o) => /^--process-max(=|$)/.test(o))) return [];
  return [`--process-max=${defaultRestoreProcessMax(cores)}`];
}

/** Copy processes for `cores` cores when the restore's options name none. */
export const defaultRestoreProcessMax = (cores: number): number => Math.min(RESTORE_PROCESS_MAX_CAP, Math.max(1, cores));

export function restoreArgs(plan: PgRestorePlan, cores = availableParallelism()): string[] {
  const targeted = plan.type !== 'default';
  return [
    `--config=${PGBACKREST_RESTORE_CONF_FILE}`,
    `--stanza=${PG_STANZA}`,
    `--repo=${plan.repo}`,
    // Per-file lines carry the copy's progress (restore-progress.ts).
    '--log-level-console=detail',
    ...(plan.set ? [`--set=${plan.set}`] : []),
    `--type=${plan.type}`,
    ...(plan.target !== undefined && targeted && plan.type !== 'immediate' ? [`--target=${plan.target}`] : []),
    ...(plan.exclusive ? ['--target-exclusive'] : []),
    ...(plan.timeline ? [`--target-timeline=${plan.timeline}`] : []),
    ...(plan.delta ? ['--delta'] : []),
    ...restoreProcessMax(plan, cores),
    ...(plan.options ?? []),
    ...(targeted ? ['--target-action=promote'] : []),
    // Spelled out so the replay reads the source's repository with this config whatever pgBackRest would copy from argv.
    `--recovery-option=restore_command=${restoreCommand(plan.repo)}`,
    'restore',
  ];
}

/** postgres while it replays: archiving off (nothing reaches the source's stanza, decision 0291), the socket only. */
export const recoverySettings = (): string[] =>
  Object.entries({
    listen_addresses: '',
    port: String(PG_PORT),
    unix_socket_directories: PG_SOCKET_DIR,
    archive_mode: 'off',
    wal_level: 'replica',
    hot_standby: 'on',
    // Not syncfs for the start's sync of PGDATA, though pgBackRest has just fsynced every file: it flushes the whole
    // filesystem, and on a volume that shares one with other Pods (hostPath, local-path) it waited for their writes
    // and slowed them (decision 0044).
    // Not lower than the source's (an instance's), or recovery aborts with "insufficient parameter settings".
    ...REPLICATION_LIMITS,
  }).flatMap(([name, value]) => ['-c', `${name}=${value}`]);

const readState = (): PgRestoreState | undefined =>
  existsSync(PG_RESTORE_STATE_FILE) ? (JSON.parse(readFileSync(PG_RESTORE_STATE_FILE, 'utf8')) as PgRestoreState) : undefined;
const writeState = (state: PgRestoreState): void => writeFileSync(PG_RESTORE_STATE_FILE, JSON.stringify(state));

/** psql on the socket as postgres (peer); SQL on stdin, so a password never shows in a process list. */
function psql(sql: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      join(PG_BIN, 'psql'),
      [
        '-X',
        '-A',
        '-t',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        PG_SOCKET_DIR,
        '-p',
        String(PG_PORT),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-f',
        '-',
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(postgresIds() ?? {}),
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', () => resolve({ code: 1, out }));
    child.on('close', (code) => resolve({ code, out: out.trim() }));
    // psql that fails at once (postgres not accepting yet) closes stdin before reading it: its exit code says why,
    // an EPIPE here must not end this process (it did once, leaving the replaying postgres behind).
    child.stdin.on('error', () => undefined);
    child.stdin.end(sql);
  });
}

async function copy(plan: PgRestorePlan, log: Logger, attempt: number): Promise<RestoreOutcome | undefined> {
  writeState({ planId: plan.id, step: 'copying', attempt, ...(plan.delta ? { delta: true } : {}) });
  if (plan.delta) {
    // In place: the stopped primary's volume, rewritten by checksum (decision 0295). A postmaster.pid left by a
    // killed postgres would make pgBackRest refuse; nothing runs here, this Pod's database container starts after.
    rmSync(join(PGDATA, 'postmaster.pid'), { force: true });
  } else {
    // A copy cut short is started over: pgBackRest refuses a non-empty PGDATA without a manifest to check it against.
    rmSync(PGDATA, { recursive: true, force: true });
  }
  ownedDir(PGDATA);
  log.info('pgbackrest restore', { repo: plan.repo, set: plan.set, type: plan.type, target: plan.target });
  const progress = new CopyProgress(Date.now(), plan.bytesTotal);
  const report = () => log.info(PG_RESTORE_PROGRESS_MSG, { ...progress.snapshot(Date.now()) });
  report();
  const pacer = new WalkPacer();
  const stopReporting = reportEvery(PG_RESTORE_PROGRESS_INTERVAL_MS, async () => {
    const started = Date.now();
    // In place, the volume already holds the old files: its bytes say nothing of --delta's progress (its lines do).
    if (!plan.delta && pacer.due(started)) {
      progress.onDisk(await dirBytes(PGDATA));
      pacer.walked(started, Date.now());
    }
    report();
  });
  const r = await runAsPostgres('pgbackrest', restoreArgs(plan), {
    onLine: (line) => {
      if (!progress.line(line) && line) log.info(line, { command: 'restore' });
    },
  }).finally(stopReporting);
  if (r.code !== 0) return copyFailure(r.code, r.output);
  progress.end();
  report();
  writeState({ planId: plan.id, step: 'recovering', attempt: 1, ...(plan.delta ? { delta: true } : {}) });
  return undefined;
}

/** Runs `tick` every `ms`, never two at once (a walk of a large PGDATA may take longer); returns the stop. */
function reportEvery(ms: number, tick: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= tick()
      .catch(() => undefined)
      .finally(() => (running = undefined));
  }, ms);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** PostgreSQL's line once it is out of recovery (`read-only connections` is a hot standby's, during the replay). */
const ACCEPTING_WRITES = /database system is ready to accept connections/;
/** Without that line, the takeover's psql is tried this long after recovery.signal went, and every 50 ms after. */
const TAKEOVER_WITHOUT_CUE_MS = 150;

/** Starts postgres to replay; resolves when it promoted (its result) or when it ended (why). */
async function recover(log: Logger): Promise<RestoreOutcome> {
  log.info(PG_RESTORE_PROGRESS_MSG, { step: 'recovering' });
  const postgres = spawnAsPostgres(join(PG_BIN, 'postgres'), ['-D', PGDATA, ...recoverySettings()], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let notReached = false;
  let lastLine = '';
  let partial = '';
  // PostgreSQL's word that it left recovery and takes read-write connections: the takeover's cue (a psql sooner is refused).
  let accepting = false;
  let wake: (() => void) | undefined;
  postgres.stderr!.on('data', (c: Buffer) => {
    process.stderr.write(c);
    const lines = (partial + c.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (TARGET_NOT_REACHED.test(line)) notReached = true;
      if (/FATAL|PANIC/.test(line)) lastLine = line;
      if (ACCEPTING_WRITES.test(line)) {
        accepting = true;
        wake?.();
      }
    }
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => postgres.once('exit', (_code, signal) => resolve(signal)));
  let ended: { signal: NodeJS.Signals | null } | undefined;
  void exited.then((signal) => (ended = { signal }));
  // postgres removes recovery.signal as it leaves recovery: until then a stat every 20 ms is all the wait costs, where a
  // psql every 200 ms cost a process each and 0.1 s on average after the promotion (bench:pg-restore). It then writes
  // its end-of-recovery checkpoint and says it accepts connections: the takeover starts on that line, and polls only
  // where the line never comes (log settings of the source's postgresql.conf, another lc_messages).
  const signal = join(PGDATA, 'recovery.signal');
  let reached: PgRestoreReached | undefined;
  let leftRecoveryAt: number | undefined;
  for (;;) {
    if (ended) return recoveryEnd(ended.signal, notReached, lastLine);
    const recovering = existsSync(signal);
    if (!recovering) leftRecoveryAt ??= Date.now();
    const due = !recovering && (accepting || Date.now() - leftRecoveryAt! >= TAKEOVER_WITHOUT_CUE_MS);
    if (due) reached = await takeOver();
    if (reached) break;
    await new Promise<void>((r) => {
      const timer = setTimeout(r, recovering ? 20 : 50);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
    wake = undefined;
  }
  log.info('promoted');
  postgres.kill('SIGINT');
  await exited;
  markHistoryForArchiving();
  return { ok: true, reached };
}

/**
 * The new timeline's history file was written while archiving was off: marked ready, it reaches the cluster's
 * own repository once the database container archives there, so that archive is whole from the new timeline on.
 */
function markHistoryForArchiving(): void {
  const wal = join(PGDATA, 'pg_wal');
  const history = readdirSync(wal)
    .filter((f) => /^[0-9A-F]{8}\.history$/.test(f))
    .sort()
    .pop();
  if (!history) return;
  // postgres's archiver renames it to .done once pushed: a root-owned marker it cannot rename made it push the
  // history file again and again for good (thousands of times a second), and a shutdown wait for it until killed.
  writeOwned(join(wal, 'archive_status', `${history}.ready`), '');
}

/**
 * pgBackRest wrote the restore's recovery settings into postgresql.auto.conf, which PostgreSQL keeps after the
 * promotion. A replica cloned by pg_basebackup copies that file and, as a standby, would apply them: stop at the
 * restore's target and promote itself onto a timeline of its own, archiving it into the stanza. Reset here, once
 * promoted, so the restored primary hands its replicas none of them (decision 0295).
 */
export const RECOVERY_SETTINGS = [
  'restore_command',
  'recovery_target',
  'recovery_target_time',
  'recovery_target_lsn',
  'recovery_target_xid',
  'recovery_target_name',
  'recovery_target_inclusive',
  'recovery_target_action',
  'recovery_target_timeline',
] as const;

/** What the replay reached: its last LSN, the new timeline and the last replayed commit's time (UTC). */
const REACHED_SQL =
  "SELECT coalesce(pg_last_wal_replay_lsn()::text, ''), ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int, coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '');";
const STILL_RECOVERING = 'silo: still in recovery';
/** psql's words for a server not (yet) taking connections on its socket. */
const NOT_ACCEPTING_YET =
  /the database system is (starting up|not yet accepting connections|in recovery mode)|could not connect to server|connection to server on socket .* failed: (No such file|Connection refused)/;

/**
 * Once promoted, in one psql (each costs a process and a backend; bench:pg-restore counts the hand-off): that it is
 * out of recovery, what the replay reached, and the takeover. The restored database has the source's passwords: its
 * superuser takes this cluster's (from its Secret). The recovery settings go (RECOVERY_SETTINGS), and a checkpoint
 * is taken so the shutdown that follows need not wait for one. Undefined while postgres is still finishing recovery.
 */
async function takeOver(): Promise<PgRestoreReached | undefined> {
  const password = readFileSync(join(PG_SUPERUSER_MOUNT, 'password'), 'utf8').trim();
  const r = await psql(
    [
      `DO $$BEGIN IF pg_is_in_recovery() THEN RAISE EXCEPTION '${STILL_RECOVERING}'; END IF; END$$;`,
      REACHED_SQL,
      "SET log_statement = 'none';",
      `ALTER ROLE postgres PASSWORD '${password.replace(/'/g, "''")}';`,
      ...RECOVERY_SETTINGS.map((name) => `ALTER SYSTEM RESET ${name};`),
      'CHECKPOINT;',
    ].join('\n'),
  );
  if (r.code === 0) return reachedOf(r.out);
  // Still finishing its recovery, or not taking this connection yet: the caller looks again while postgres runs.
  if (r.out.includes(STILL_RECOVERING) || NOT_ACCEPTING_YET.test(r.out)) return undefined;
  // psql's errors may quote the statement (a syntax error's LINE context): never the password.
  const said = (password ? r.out.split(password).join('***') : r.out).slice(0, 300);
  throw new Error(`the superuser's password or the recovery settings could not be set after the restore: ${said}`);
}

/** REACHED_SQL's row (`lsn|timeline|time`) as the result line carries it. */
function reachedOf(row: string): PgRestoreReached {
  const [lsn, timeline, time] = row.trim().split('|');
  return {
    ...(lsn ? { reachedLsn: lsn } : {}),
    ...(timeline ? { reachedTimeline: Number(timeline) } : {}),
    ...(time ? { reachedTime: time } : {}),
  };
}

export async function runPgRestore(env: NodeJS.ProcessEnv, log: Logger): Promise<RestoreOutcome> {
  const text = env[PG_RESTORE_VAR.plan];
  if (!text) throw new ConfigError(`${PG_RESTORE_VAR.plan} is empty; the operator sets it on a restoring primary`);
  const plan = JSON.parse(text) as PgRestorePlan;
  ownedDir(PG_RUN_DIR);
  ownedDir(join(PG_RUN_DIR, 'lock'));
  ownedDir(PG_VOLUME_MOUNT);
  let state = readState();
  if (state && state.planId !== plan.id) {
    // A new-cluster restore's volume later restored in place: its own restore is long done.
    if (state.delta && !plan.delta) return { ok: true, reached: {} };
    // An in-place restore starts from whatever an earlier restore left (decision 0295).
    if (!plan.delta) throw new ConfigError(`${PG_RESTORE_STATE_FILE} belongs to another restore (${state.planId})`);
    state = undefined;
  }
  if (state?.step === 'done') return { ok: true, reached: state.reached ?? {} };
  if (state?.step === 'failed') return { ok: false, reason: state.failure!.reason, error: state.failure!.error };
  copyTlsFiles(PG_RESTORE_TLS_MOUNT, PG_RESTORE_TLS_COPY_DIR);
  writeFileSync(PGBACKREST_RESTORE_CONF_FILE, plan.conf, { mode: 0o600 });
  const ids = postgresIds();
  if (ids) chownSync(PGBACKREST_RESTORE_CONF_FILE, ids.uid, ids.gid);
  const attempt = nextAttempt(state, log);
  if (attempt === undefined) return keep(plan, giveUp(state!));
  const failed = state?.step === 'recovering' ? undefined : await copy(plan, log, attempt);
  const outcome = failed ?? (await recover(log));
  if (!outcome.ok && outcome.interrupted) {
    // Nothing kept but what interrupted it: the next run resumes the step on the volume.
    writeState({ ...readState()!, interruption: { reason: outcome.reason, error: outcome.error } });
    return outcome;
  }
  return keep(plan, outcome);
}

/** A state left at copying or recovering is a run that was interrupted: this run is the next attempt, or none is left. */
function nextAttempt(state: PgRestoreState | undefined, log: Logger): number | undefined {
  if (!state) return 1;
  const attempt = (state.attempt ?? 1) + 1;
  if (attempt > PG_RESTORE_MAX_ATTEMPTS) return undefined;
  writeState({ ...state, attempt });
  log.info(state.step === 'recovering' ? 'resuming an interrupted recovery' : 'copying again after an interruption', {
    attempt,
    ...(state.interruption ? { interruptedBy: state.interruption.reason } : {}),
  });
  return attempt;
}

/** The run after the last attempt: the restore fails for good, naming what interrupted it last. */
function giveUp(state: PgRestoreState): RestoreOutcome {
  const last = state.interruption ? `; the last: ${state.interruption.reason}: ${state.interruption.error}` : '';
  const error = `the restore was interrupted ${PG_RESTORE_MAX_ATTEMPTS} times while ${state.step}${last}`;
  return { ok: false, reason: 'RestoreInterruptedRepeatedly', error: error.slice(0, 600) };
}

/** Writes the final step (done or failed) on the volume: a later run only repeats it. */
function keep(plan: PgRestorePlan, outcome: RestoreOutcome): RestoreOutcome {
  const delta = plan.delta ? { delta: true } : {};
  writeState(
    outcome.ok
      ? { planId: plan.id, step: 'done', reached: outcome.reached, ...delta }
      : { planId: plan.id, step: 'failed', failure: { reason: outcome.reason, error: outcome.error }, ...delta },
  );
  return outcome;
}
