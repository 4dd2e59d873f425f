/**
 * What bench/pg.ts measures with: the resident memory of every process of a Pod (the process kubelet
 * runs a Pod's containers as local processes, each with KUBELET_POD_IP in its environment; pgBackRest's
 * children inherit it) sampled while a backup runs, and the baseline's pgbackrest.conf, made from the
 * same builder the operator uses for the repo host so both sides run with the same options.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoHostConfig, type ConfigInput } from '../runtime/controller/postgres/cluster/pgbackrest-config.js';

const PAGE = 4096;
/** The variable the baseline's processes carry, so the sampler can tell them apart. */
export const BASELINE_MARK = 'SILO_BENCH_SIDE';

interface Sample {
  /** KUBELET_POD_IP, or `baseline` for the processes carrying BASELINE_MARK. */
  group: string;
  /** Whether the process is pgBackRest (else Silo's node, or a shell or nsenter in between). */
  pgbackrest: boolean;
  rssBytes: number;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot (0 when it is gone). */
function startTicks(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return 0;
  }
}

/** The group of a process from its environment, cached by pid and start time (a reused pid is another process). */
function groupOf(pid: string, cache: Map<string, string | null>): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const key = `${pid}:${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  if (cache.has(key)) return cache.get(key)!;
  let group: string | null;
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    if (env.includes(`${BASELINE_MARK}=baseline`)) group = 'baseline';
    else group = env.find((e) => e.startsWith('KUBELET_POD_IP='))?.slice('KUBELET_POD_IP='.length) ?? null;
  } catch {
    group = null;
  }
  cache.set(key, group);
  return group;
}

function scan(cache: Map<string, string | null>): Sample[] {
  const samples: Sample[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const group = groupOf(pid, cache);
    if (!group) continue;
    try {
      const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      samples.push({ group, pgbackrest: comm === 'pgbackrest', rssBytes: rssPages * PAGE });
    } catch {
      /* exited between the listing and the read */
    }
  }
  return samples;
}

export interface GroupPeak {
  /** The most all processes of the group held at once. */
  allMiB: number;
  /** The most its pgBackRest processes held at once. */
  pgbackrestMiB: number;
}

/** Samples every `ms` from start() to stop(): the peak of each group's summed RSS (all processes, and pgBackRest's). */
export class PodMemorySampler {
  private timer?: NodeJS.Timeout;
  private readonly cache = new Map<string, string | null>();
  private readonly peaks = new Map<string, GroupPeak>();

  constructor(private readonly ms = 100) {}

  start(): void {
    this.peaks.clear();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.ms);
  }

  stop(): Map<string, GroupPeak> {
    clearInterval(this.timer);
    this.sample();
    return new Map(this.peaks);
  }

  private sample(): void {
    const sums = new Map<string, GroupPeak>();
    for (const s of scan(this.cache)) {
      const sum = sums.get(s.group) ?? { allMiB: 0, pgbackrestMiB: 0 };
      sum.allMiB += s.rssBytes / 2 ** 20;
      if (s.pgbackrest) sum.pgbackrestMiB += s.rssBytes / 2 ** 20;
      sums.set(s.group, sum);
    }
    for (const [group, sum] of sums) {
      const peak = this.peaks.get(group) ?? { allMiB: 0, pgbackrestMiB: 0 };
      this.peaks.set(group, { allMiB: Math.max(peak.allMiB, sum.allMiB), pgbackrestMiB: Math.max(peak.pgbackrestMiB, sum.pgbackrestMiB) });
    }
  }
}

/** `path` with the symlinks of its longest existing prefix resolved on this host. */
function resolvedHere(path: string): string {
  for (let dir = dirname(path); dir !== '/'; dir = dirname(dir)) {
    try {
      return join(realpathSync(dir), relative(dir, path));
    } catch {
      /* not here: try the parent */
    }
  }
  return path;
}

/**
 * A process of the database Pod with this IP, to run the baseline in its mount namespace: one whose view of the
 * filesystem (/proc/<pid>/root) holds PostgreSQL's socket, so a process another run left behind with the same
 * pod IP is never taken.
 */
export function podProcess(podIp: string, socket: string): number {
  const cache = new Map<string, string | null>();
  // /proc/<pid>/root resolves an absolute symlink (Debian's /var/run → /run) against this process's root: resolve
  // the directory here first (Pods share the host's root filesystem, so it is the same link there).
  const path = resolvedHere(socket);
  // Started after this process: a leftover of an earlier run (pgBackRest's async archiver outlives its Pod) keeps
  // that Pod's mount namespace, stale socket file included, and may carry the same pod IP.
  const since = startTicks(String(process.pid));
  const pid = readdirSync('/proc').find(
    (p) => /^\d+$/.test(p) && groupOf(p, cache) === podIp && startTicks(p) >= since && existsSync(`/proc/${p}/root${path}`),
  );
  if (!pid) throw new Error(`no process of the Pod with IP ${podIp} sees ${socket}; is the process kubelet of this checkout running it?`);
  return Number(pid);
}

export interface BaselinePaths {
  /** The object store's CA file, as the database Pod sees it. */
  caFile: string;
  lockDir: string;
  accessKey: string;
  secretKey: string;
}

/**
 * The repo host's pgbackrest.conf turned into one for pgBackRest on the database host: the same global options
 * (compression, process-max, start-fast) and repository, PGDATA and the socket read locally instead of through
 * `pgbackrest server`, no TLS server, and the storage keys in the file (a throwaway MinIO's, in a private dir).
 */
export function baselineConfig(input: ConfigInput, paths: BaselinePaths): string {
  const lines = repoHostConfig(input)
    .split('\n')
    .filter((line) => !/^(pg1-host|tls-server-|lock-path=|log-level-console=)/.test(line))
    .map((line) => line.replace(/^(repo\d+-storage-ca-file)=.*/, `$1=${paths.caFile}`));
  const global = lines.indexOf('[global]');
  lines.splice(
    global + 1,
    0,
    `lock-path=${paths.lockDir}`,
    'log-level-console=warn',
    `repo1-s3-key=${paths.accessKey}`,
    `repo1-s3-key-secret=${paths.secretKey}`,
  );
  return lines.join('\n');
}

/**
 * SIGKILLs what is left of Pods that are gone: pgBackRest's async archiver detaches from its process group (setsid),
 * so the kubelet's group kill misses it, and it would retry a repo host that no longer exists for minutes.
 */
export async function killPodProcesses(podIps: readonly string[]): Promise<number> {
  // PostgreSQL's shutdown archives its last WAL, which can fork a new async archiver after a pass: look a few times.
  let killed = 0;
  for (let pass = 0; pass < 5; pass++) {
    killed += killPodProcessesOnce(podIps);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return killed;
}

function killPodProcessesOnce(podIps: readonly string[]): number {
  const cache = new Map<string, string | null>();
  // Only processes started after this one: another run's leftovers may carry the same pod IP, and are not ours.
  const since = startTicks(String(process.pid));
  const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && podIps.includes(groupOf(p, cache) ?? '') && startTicks(p) >= since);
  for (const pid of left) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return left.length;
}
