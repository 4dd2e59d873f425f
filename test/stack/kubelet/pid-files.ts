/**
 * One file per running container process (pid and start time), so a kubelet
 * that was killed hard can kill the orphans of its previous run on start.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** In every container's environment: the state directory of the kubelet that started it (killMarked). */
export const KUBELET_MARK_VAR = 'SILO_PROCESS_KUBELET';

/**
 * SIGKILLs every process whose environment marks it as a container of the kubelet with this state directory, and
 * returns what it killed (`pid command`). Children inherit the mark, so servers an entrypoint forked go too.
 */
export function killMarked(stateDir: string): string[] {
  const mark = `${KUBELET_MARK_VAR}=${stateDir}`;
  const killed: string[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or a kernel thread
    }
    if (!environ.split('\0').includes(mark)) continue;
    try {
      const command = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      process.kill(pid, 'SIGKILL');
      killed.push(`${pid} ${command}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return killed;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks): with the PID, identifies a process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class PidFiles {
  constructor(private readonly dir: string) {}

  record(key: string, pid: number): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, key), `${pid} ${processStartTime(pid) ?? ''}`);
  }

  forget(key: string): void {
    rmSync(join(this.dir, key), { force: true });
  }

  /** SIGKILLs every recorded process group that is still the same process, and forgets them all. */
  killRecorded(): void {
    let files: string[];
    try {
      files = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const f of files) {
      const [pidText, started] = readFileSync(join(this.dir, f), 'utf8').trim().split(' ');
      const pid = Number(pidText);
      // A reused PID must not be killed.
      if (pid > 0 && started && processStartTime(pid) === started) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(join(this.dir, f), { force: true });
    }
  }
}
