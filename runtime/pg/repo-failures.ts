/**
 * Which repositories `pgbackrest info` could not read, and why, as reasons (decision 0283). info runs on
 * the repo host, where every repository is local: a connection pgBackRest could not open from there is the
 * object store's, never a pgBackRest server's, so RepoHostUnreachable is told as StorageUnreachable. Pure.
 */
import { PG_STANZA, type RepoFailure } from '../contracts/pg-pods.js';
import { pgbackrestOutcome } from './pgbackrest-outcome.js';

interface InfoRepo {
  readonly key?: number;
  readonly status?: { code?: number; message?: string };
}

/** pgBackRest's info status code for a repository it could not read ("other"). */
const UNREADABLE = 99;

export function repoFailuresOf(info: unknown): RepoFailure[] {
  const stanza = Array.isArray(info) ? (info as Array<{ name?: string; repo?: InfoRepo[] }>).find((s) => s.name === PG_STANZA) : undefined;
  return (stanza?.repo ?? [])
    .filter((r) => r.status?.code === UNREADABLE && typeof r.key === 'number')
    .map((r) => {
      const outcome = pgbackrestOutcome(UNREADABLE, `ERROR: ${r.status?.message ?? ''}`);
      const reason = outcome.reason === 'RepoHostUnreachable' ? 'StorageUnreachable' : outcome.reason!;
      return {
        repo: r.key!,
        reason,
        message: `repo${r.key}: ${outcome.message!.replace(/^pgBackRest( exited with \d+)?: (ERROR: )?/, '')}`,
      };
    });
}
