/**
 * When a WAL segment reached a repository: the upper bound of a recovery window (pgBackRest's info
 * names the last archived segment, not its time). `pgbackrest repo-ls` lists the segment's directory
 * with each file's time, on any repository type, through the repo host's own credentials.
 */
import { PG_STANZA, PGBACKREST_CONF_FILE } from '../contracts/pg-pods.js';
import type { WalTimeAnswer, WalTimeRequest } from '../contracts/pg-restore.js';
import { runAsPostgres } from './pgbackrest-process.js';

export function walTimeArgs(request: WalTimeRequest): string[] {
  if (!Number.isInteger(request.repo) || request.repo < 1 || request.repo > 4) throw new Error('repo must be 1 to 4');
  if (!/^[0-9]{1,3}-[0-9]{1,6}$/.test(request.archiveId)) throw new Error('archiveId must look like 15-1');
  if (!/^[0-9A-F]{24}$/.test(request.segment)) throw new Error('segment must be a 24-hex-digit WAL segment name');
  return [
    `--config=${PGBACKREST_CONF_FILE}`,
    `--repo=${request.repo}`,
    '--log-level-console=warn',
    '--output=json',
    'repo-ls',
    `archive/${PG_STANZA}/${request.archiveId}/${request.segment.slice(0, 16)}`,
  ];
}

/** The newest time among the segment's files (a segment archived twice keeps both), from repo-ls's JSON. */
export function segmentTime(listing: Record<string, { type: string; time?: number }>, segment: string): number | undefined {
  const times = Object.entries(listing)
    .filter(([name, entry]) => entry.type === 'file' && name.startsWith(`${segment}-`) && typeof entry.time === 'number')
    .map(([, entry]) => entry.time!);
  return times.length ? Math.max(...times) : undefined;
}

export async function walTime(request: WalTimeRequest): Promise<WalTimeAnswer> {
  const r = await runAsPostgres('pgbackrest', walTimeArgs(request));
  if (r.code !== 0) throw new Error(`pgbackrest repo-ls exited with ${r.code}: ${r.output.trim().split('\n').pop()?.slice(0, 300)}`);
  const time = segmentTime(JSON.parse(r.stdout || '{}') as Record<string, { type: string; time?: number }>, request.segment);
  return time === undefined ? {} : { time };
}
