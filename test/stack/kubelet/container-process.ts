/**
 * Runs one container as a local process group in a private mount namespace:
 * `unshare -m --propagation private` then a bash script that bind-mounts each volume
 * at its mount path and execs the command (ADR 0102). The host never sees the
 * mounts, so two pods can both have their own /var/lib/mysql.
 *
 * The script opens each source on a file descriptor before mounting anything
 * and binds from /proc/self/fd/N: a volume mounted at /tmp (the
 * install bundle's Deployment has one) would otherwise hide every later source
 * under /tmp/silo-stack — the termination-log file, emptyDirs — and the
 * container would never start. An open descriptor reaches the file whatever
 * is mounted over its path.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import type { LocalCommand } from './images.js';
import { prepareTerminationFile, terminationMessageTarget } from './termination-message.js';
import { constants } from 'node:os';

export interface BindMount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface ContainerLaunch {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  mounts: BindMount[];
  logPath: string;
}

export interface ContainerExit {
  exitCode: number;
  signal?: string;
  finishedAt: Date;
}

export interface RunningContainer {
  pid: number;
  startedAt: Date;
  exited: Promise<ContainerExit>;
  /** SIGTERM the process group, SIGKILL after graceMs; resolves when it has exited. */
  stop(graceMs: number): Promise<ContainerExit>;
}

/**
 * The bind mounts of one container: its volumeMounts (subPath honoured), the
 * image's anonymous volumes not covered by a mount, the image's own directories
 * (each bound onto itself, after the pod's mounts, so a volume over a parent does
 * not hide it; decision 0130), and the termination-message file.
 */
export function containerMounts(
  spec: V1Container,
  volumes: Map<string, string>,
  image: Pick<LocalCommand, 'anonymousVolumes' | 'imagePaths'>,
  anonymousRoot: string,
  terminationFile: string,
): BindMount[] {
  const mounts: BindMount[] = (spec.volumeMounts ?? []).map((m) => {
    const source = volumes.get(m.name);
    if (!source) throw new Error(`volumeMount ${m.name} refers to no volume`);
    return { source: m.subPath ? join(source, m.subPath) : source, target: m.mountPath, readOnly: m.readOnly === true };
  });
  const covered = new Set(mounts.map((m) => m.target));
  for (const anon of image.anonymousVolumes) {
    if (!covered.has(anon)) mounts.push({ source: join(anonymousRoot, anon), target: anon, readOnly: false });
  }
  for (const path of image.imagePaths) mounts.push({ source: path, target: path, readOnly: false });
  prepareTerminationFile(terminationFile);
  mounts.push({ source: terminationFile, target: terminationMessageTarget(spec), readOnly: false });
  return mounts;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** First descriptor the script opens a mount source on (bash; 0-9 stay free for the shell). */
const FIRST_SOURCE_FD = 10;

const isSpecial = (path: string): boolean => {
  try {
    const st = statSync(path);
    return st.isFIFO() || st.isSocket(); // opening a FIFO would block
  } catch {
    return false;
  }
};

/**
 * The bash prologue that sets up the mounts; exported for tests. It first
 * opens every source on a descriptor — inside the new mount namespace, before
 * any mount: a bind from a descriptor opened in another namespace is refused —
 * then binds from /proc/self/fd/N (`mount -c`: a canonicalized path would be
 * looked up again, under whatever covers it now), and closes the descriptors
 * before the command runs. FIFOs and sockets are bound by path.
 */
export function mountScript(mounts: BindMount[], cwd: string): string {
  const lines = ['set -e'];
  // Parents before children, so a mount inside another volume lands on top.
  const sorted = [...mounts].sort((a, b) => a.target.length - b.target.length);
  const plan = sorted.map((m) => {
    let isDir = true;
    try {
      isDir = statSync(m.source).isDirectory();
    } catch {
      /* created as dir below */
    }
    return { m, isDir, fd: undefined as number | undefined };
  });
  let nextFd = FIRST_SOURCE_FD;
  for (const p of plan) {
    if (p.isDir) lines.push(`mkdir -p ${q(p.m.source)}`);
    if (isSpecial(p.m.source)) continue;
    p.fd = nextFd++;
    lines.push(`exec ${p.fd}<${q(p.m.source)}`);
  }
  for (const { m, isDir, fd } of plan) {
    if (isDir) lines.push(`mkdir -p ${q(m.target)}`);
    else lines.push(`mkdir -p ${q(dirname(m.target))}`, `[ -e ${q(m.target)} ] || : > ${q(m.target)}`);
    lines.push(fd === undefined ? `mount --bind ${q(m.source)} ${q(m.target)}` : `mount -c --bind /proc/self/fd/${fd} ${q(m.target)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${q(m.target)}`);
  }
  const fds = plan.flatMap((p) => (p.fd === undefined ? [] : [p.fd]));
  if (fds.length) lines.push(`exec ${fds.map((fd) => `${fd}<&-`).join(' ')}`);
  lines.push(`mkdir -p ${q(cwd)}`, `cd ${q(cwd)}`, 'exec "$@"');
  return lines.join('\n');
}

function exitOf(code: number | null, signal: NodeJS.Signals | null): ContainerExit {
  if (signal) {
    const num = (constants.signals as Record<string, number>)[signal] ?? 9;
    return { exitCode: 128 + num, signal, finishedAt: new Date() };
  }
  return { exitCode: code ?? 1, finishedAt: new Date() };
}

export function startContainer(launch: ContainerLaunch): RunningContainer {
  mkdirSync(dirname(launch.logPath), { recursive: true });
  const fd = openSync(launch.logPath, 'a');
  let child;
  try {
    // bash, not sh: dash has no descriptors above 9.
    child = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', '--', '/bin/bash', '-c', mountScript(launch.mounts, launch.cwd), 'container', ...launch.argv],
      {
        detached: true, // own session and process group: we signal the whole group
        stdio: ['ignore', fd, fd],
        env: launch.env,
        cwd: '/',
      },
    );
  } finally {
    closeSync(fd);
  }
  const startedAt = new Date();
  const pid = child.pid ?? -1;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* gone */
    }
  };
  const exited = new Promise<ContainerExit>((resolve) => {
    child.once('error', () => resolve({ exitCode: 128, finishedAt: new Date() }));
    child.once('exit', (code, signal) => {
      // A container's processes end with its main one (its PID namespace goes): a child left running, such as a
      // postgres started by a crashed init container, would otherwise hold the volume's lock against the next one.
      signalGroup('SIGKILL');
      resolve(exitOf(code, signal));
    });
  });
  return {
    pid,
    startedAt,
    exited,
    async stop(graceMs) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), Math.max(0, graceMs));
      const result = await exited;
      clearTimeout(timer);
      signalGroup('SIGKILL'); // stragglers in the group
      return result;
    },
  };
}
