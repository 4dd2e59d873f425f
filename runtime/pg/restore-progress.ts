/**
 * The copy's progress in `silo pg restore`: bytes done and total, percent, rate and ETA (decision 0278).
 * pgBackRest 2.45 prints one `DETAIL: restore file <path> ([bundle <id>/<offset>, ]<size>, <percent>%)` line per file it finished, largest
 * file first, and no total before the copy: its percent is of bytes (finished bytes over the set's size). A
 * relation segment is up to 1 GiB, so for most of a small database's copy no line comes at all (a 1 GiB pgbench
 * set's first line says 85 %). What pgBackRest has written so far is on the volume (it writes each file in place),
 * so the bytes under PGDATA fill the gaps between its lines. Pure but for `dirBytes`.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PgRestoreProgress } from '../contracts/pg-restore.js';

const UNITS: Record<string, number> = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40, PB: 2 ** 50 };

/** pgBackRest's size text (`0B`, `768KB`, `38.4MB`, `1GB`), in bytes; powers of 1024 as it counts them. */
export function pgbackrestSize(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)([KMGTP]?B)$/.exec(text);
  return m ? Math.round(Number(m[1]) * UNITS[m[2]]) : undefined;
}

/** A `restore file … (size, percent%)` line's file size and pgBackRest's percent so far; undefined for other lines. */
export function restoredFile(line: string): { bytes: number; percent: number } | undefined {
  // A file from a bundled repository says where it was first: `(bundle 1/91, 8KB, 0.04%)`.
  const m = /restore file .*\((?:bundle [0-9]+\/[0-9]+, )?([0-9.]+[KMGTP]?B), ([0-9.]+)%\)/.exec(line);
  if (!m) return undefined;
  const bytes = pgbackrestSize(m[1]);
  return bytes === undefined ? undefined : { bytes, percent: Number(m[2]) };
}

/** The copy's figures from pgBackRest's lines, the bytes on the volume and the clock; one per copy attempt. */
export class CopyProgress {
  private lineBytes = 0;
  private linePercent = 0;
  private diskBytes = 0;
  private ended = false;

  /** `planTotal`: the resolved set's size, if the operator knew it. */
  constructor(
    private readonly startedMs: number,
    private readonly planTotal?: number,
  ) {}

  /** Takes one pgBackRest output line; true when it was a per-file progress line. */
  line(text: string): boolean {
    const file = restoredFile(text);
    if (!file) return false;
    this.lineBytes += file.bytes;
    this.linePercent = Math.max(this.linePercent, file.percent);
    return true;
  }

  /** What is under PGDATA now (a whole walk, so it never goes down while the copy runs). */
  onDisk(bytes: number): void {
    this.diskBytes = Math.max(this.diskBytes, bytes);
  }

  end(): void {
    this.ended = true;
  }

  /**
   * The total: pgBackRest's own (its finished bytes over its percent, each size rounded to 3 digits) once it said 1 %,
   * the resolved set's size while it agrees with that within 5 % (pgBackRest may restore a newer set than the one
   * resolved when no target pins it).
   */
  private total(): number | undefined {
    const estimate = this.linePercent >= 1 ? Math.round((this.lineBytes * 100) / this.linePercent) : undefined;
    if (this.planTotal && (estimate === undefined || Math.abs(estimate - this.planTotal) <= this.planTotal * 0.05)) return this.planTotal;
    return estimate;
  }

  snapshot(nowMs: number): PgRestoreProgress {
    const total = this.total();
    const seen = Math.max(this.lineBytes, this.diskBytes);
    const done = total === undefined ? seen : this.ended ? total : Math.min(seen, total);
    const seconds = (nowMs - this.startedMs) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    // 100 only once pgBackRest ended: the last files and pg_control come after the bytes add up.
    const percent = this.ended ? 100 : total ? Math.min(99, Math.floor((done * 100) / total)) : Math.floor(this.linePercent);
    const eta = this.ended ? 0 : total !== undefined && rate > 0 ? Math.ceil((total - done) / rate) : undefined;
    return {
      step: 'copying',
      percent,
      bytesDone: done,
      ...(total !== undefined ? { bytesTotal: total } : {}),
      bytesPerSecond: rate,
      ...(eta !== undefined ? { etaSeconds: eta } : {}),
    };
  }
}

/** The sizes of the regular files under `dir`; symlinks are not followed (a tablespace's files are not counted). */
export async function dirBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    // Not there yet, or removed while walked: nothing to count.
    return 0;
  }
  const sizes = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return dirBytes(path);
      return entry.isFile()
        ? lstat(path).then(
            (s) => s.size,
            () => 0,
          )
        : 0;
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * Whether a walk of PGDATA is due: a walk takes at most 1/WALK_SHARE of the copy's time (a thousand files take
 * tens of milliseconds, a hundred thousand seconds), so a large PGDATA is walked less often, not slower.
 */
export class WalkPacer {
  private dueMs = 0;
  constructor(private readonly share = 20) {}

  due(nowMs: number): boolean {
    return nowMs >= this.dueMs;
  }

  walked(startedMs: number, endedMs: number): void {
    this.dueMs = endedMs + (endedMs - startedMs) * this.share;
  }
}
