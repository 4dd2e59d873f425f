/** `silo pg instance|repo-host|backup|restore`: the commands of a PGCluster's Pods and Jobs. */
import type { Logger } from '../logging/logger.js';
import { ConfigError } from '../contracts/config-error.js';
import { EXIT, type WorkerResult } from '../contracts/worker-result.js';

export async function runPgCommand(
  mode: string | undefined,
  env: NodeJS.ProcessEnv,
  log: Logger,
  report: (r: WorkerResult) => void,
): Promise<number> {
  if (mode === 'instance') return (await import('./instance.js')).runPgInstance(env, log);
  if (mode === 'repo-host') return (await import('./repo-host.js')).runRepoHost(env, log);
  if (mode === 'restore') {
    const result = await (await import('./restore.js')).runPgRestore(env, log);
    if (result.ok) {
      report({ outcome: 'pg-restored', ...result.reached });
      return EXIT.ok;
    }
    if (result.interrupted) {
      // No failure kept on the volume: the kubelet starts the container again and it resumes (decision 0282).
      report({ outcome: 'pg-interrupted', reason: result.reason, error: result.error });
      return EXIT.interrupted;
    }
    report({ outcome: 'failed', reason: result.reason, error: result.error });
    return EXIT.sourceFailed;
  }
  if (mode === 'backup') {
    const result = await (await import('./backup-job.js')).runPgBackupJob(env, log);
    if (result.ok) {
      report({ outcome: 'backed-up' });
      return EXIT.ok;
    }
    report({ outcome: 'failed', reason: result.reason ?? 'PgBackRestFailed', error: result.message ?? 'pgBackRest failed' });
    return result.busy ? EXIT.busy : result.reason === 'RepoHostUnreachable' ? EXIT.unreachable : EXIT.sourceFailed;
  }
  throw new ConfigError(`unknown command "pg ${mode ?? ''}"; use pg instance, pg repo-host, pg backup or pg restore`);
}
