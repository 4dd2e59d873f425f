/**
 * `silo <command>`: the entrypoint of Silo's image. Workers run as Jobs and
 * init containers; the instance manager runs as a sidecar.
 *   silo backup command -- <cmd> [args…]
 *   silo backup fifo --data <pipe> --status <file>
 *   silo backup physical --instance-manager <https://ip:port>
 *   silo restore command -- <cmd> [args…]
 *   silo restore physical [--data-dir <dir>] [--work-dir <dir>]   (default DATA_DIR and WORK_DIR: the recovery step)
 *   silo delete object   (SILO_DATA_KEY and its metadata.json; BackupRun retainPolicy: Delete)
 *   silo prune           (SILO_PRUNE_PREFIXES: whole backups, metadata.json first; retention and remote deletion)
 *   silo instance-manager
 *   silo instance init   (the instance Pod's bootstrap init container: initdb, or clone the primary)
 *   silo instance db     (the instance Pod's database container: mariadbd with Silo's options)
 *   silo pg instance|repo-host|backup   (a PGCluster's database container, its repo host, a PGBackup's Job)
 *   silo controller [--leader-elect] [--watch-namespace a,b] … (runtime/controller/manager/flags.ts)
 * Exit codes and the result line: runtime/contracts/worker-result.ts. Logs: JSON lines on stderr.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger, logNodeWarnings } from './logging/logger.js';
import type { BackupSourceSpec } from './workers/backup-worker.js';
import type { RestoreTargetSpec } from './workers/restore-worker.js';
import { ConfigError } from './contracts/config-error.js';
import { VAR } from './contracts/worker-env.js';
import { DATA_DIR, WORK_DIR } from './contracts/instance-pod.js';
import { EXIT, formatResultLine, TERMINATION_LOG, TERMINATION_MESSAGE_LIMIT, type WorkerResult } from './contracts/worker-result.js';

/**
 * The image's launcher (runtime/silo-launcher.sh) tunes glibc's malloc for this Node process and names what it set
 * in SILO_LAUNCHER_SET. glibc has read them by now; the programs Silo starts (pgBackRest, postgres, mariadbd,
 * mbstream) must not inherit a 256 KiB mmap threshold meant for a worker's 1 MiB buffers (decision 0016).
 */
function dropLauncherSettings(env: NodeJS.ProcessEnv): void {
  for (const name of (env.SILO_LAUNCHER_SET ?? '').split(' ').filter(Boolean)) delete env[name];
  delete env.SILO_LAUNCHER_SET;
}
dropLauncherSettings(process.env);

const logger = createLogger({ component: 'silo', pod: process.env.POD_NAME });
logNodeWarnings(logger);

function report(result: WorkerResult): void {
  const line = formatResultLine(result);
  process.stdout.write(line + '\n');
  // The controller reads the outcome from the Job's termination message.
  const path = process.env[VAR.terminationLog] ?? TERMINATION_LOG;
  if (existsSync(path))
    try {
      writeFileSync(path, line.slice(0, TERMINATION_MESSAGE_LIMIT));
    } catch {
      /* not writable outside Kubernetes */
    }
}

/** The flags a worker command takes (after `silo <command> <mode>`, before `--`). */
interface Flags {
  data?: string;
  status?: string;
  'instance-manager'?: string;
  'data-dir'?: string;
  'work-dir'?: string;
}

/** `silo backup <mode>`'s source, its flags checked; undefined for a mode that is not a backup mode. */
function backupSource(mode: string | undefined, values: Flags, after: string[]): BackupSourceSpec | undefined {
  if (mode === 'command') return { mode, command: after };
  if (mode === 'fifo') {
    if (!values.data || !values.status) throw new ConfigError('backup fifo needs --data <pipe> and --status <file>');
    return { mode, data: values.data, status: values.status };
  }
  if (mode === 'physical') {
    if (!values['instance-manager']) throw new ConfigError('backup physical needs --instance-manager https://<pod-ip>:<port>');
    return { mode, instanceManager: values['instance-manager'] };
  }
  return undefined;
}

/** `silo restore <mode>`'s target, its flags checked; undefined for a mode that is not a restore mode. */
function restoreTarget(mode: string | undefined, values: Flags, after: string[]): RestoreTargetSpec | undefined {
  if (mode === 'command') return { mode, command: after };
  // The recovery Job runs it without flags, on the instance's volume (runtime/contracts/instance-pod.ts).
  if (mode === 'physical')
    return values['data-dir']
      ? { mode, dataDir: values['data-dir'], workDir: values['work-dir'] }
      : { mode, dataDir: DATA_DIR, workDir: values['work-dir'] ?? WORK_DIR };
  return undefined;
}

/**
 * Every command's code is imported when that command runs, never at start: a Job's Pod starts (and a PGBackup
 * finishes) about 50 ms sooner when `silo pg backup` does not first load the data path, its codecs and the SDKs'
 * shared code (bench:pg, docs/benchmarks.md). The controller is lazy for the same reason the other way round.
 */
async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'controller') return (await import('./controller/manager/main.js')).runController(argv.slice(1));
  const dashes = argv.indexOf('--');
  const [command, mode, ...rest] = dashes === -1 ? argv : argv.slice(0, dashes);
  const after = dashes === -1 ? [] : argv.slice(dashes + 1);
  const { values } = parseArgs({
    args: rest,
    options: {
      data: { type: 'string' },
      status: { type: 'string' },
      'instance-manager': { type: 'string' },
      'data-dir': { type: 'string' },
      'work-dir': { type: 'string' },
    },
    strict: true,
  });
  const source = command === 'backup' ? backupSource(mode, values, after) : undefined;
  if (source) {
    const { runBackup } = await import('./workers/backup-worker.js');
    return report({ outcome: 'completed', metadata: await runBackup(source, process.env, logger) });
  }
  const target = command === 'restore' ? restoreTarget(mode, values, after) : undefined;
  if (target) {
    const { runRestore } = await import('./workers/restore-worker.js');
    const recovery = await runRestore(target, process.env, logger);
    return report({ outcome: 'restored', ...(recovery ? { recovery } : {}) });
  }
  if (command === 'delete' && mode === 'object') {
    const { runDelete } = await import('./workers/delete-worker.js');
    return report({ outcome: 'deleted', ...(await runDelete(process.env, logger)) });
  }
  if (command === 'prune') {
    const result = await (await import('./workers/prune-worker.js')).runPrune(process.env, logger);
    report({ ...result });
    if (result.reason) process.exitCode = EXIT[result.reason];
    return;
  }
  if (command === 'instance-manager') return (await import('./instance-manager/main.js')).runInstanceManager(process.env, logger);
  // Not a worker: no result line; the exit status is mariadbd's (db) or 0 once the volume is complete (init).
  if (command === 'instance') {
    process.exitCode = await (await import('./instance/main.js')).runInstanceCommand(mode, process.env, logger);
    return;
  }
  if (command === 'pg') {
    process.exitCode = await (await import('./pg/main.js')).runPgCommand(mode, process.env, logger, report);
    return;
  }
  throw new ConfigError(
    `unknown command "${[command, mode].filter(Boolean).join(' ')}"; use pg instance|repo-host|backup, backup command|fifo|physical, restore command|physical, delete object, prune, instance-manager, instance init|db or controller`,
  );
}

main(process.argv.slice(2)).catch(async (error) => {
  // The failure classes belong to the data path: loaded only when something failed.
  const { classifyFailure } = await import('./workers/exit-codes.js');
  const reason = classifyFailure(error);
  logger.error('failed', { reason, error: (error as Error).message });
  report({ outcome: 'failed', reason, error: (error as Error).message });
  process.exit(EXIT[reason]);
});
