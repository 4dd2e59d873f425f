/** bench/recovery.ts's tables: medians over the rounds (peaks: the largest), each round beside them, and the targets. */
import { readFileSync } from 'node:fs';
import { median, table } from './measure.js';
import type { CloneRun, SideRun } from './recovery-sides.js';
import { MiB } from './recovery-support.js';

const PHASES = ['download + extract', 'prepare', 'place datadir', 'sync + state file', 'worker start, checks, exit', 'start → SELECT 1'];

const f = (v: number | undefined, digits = 2) => (v === undefined ? '-' : v.toFixed(digits));
const rounds = (values: (number | undefined)[], digits = 2) => values.map((v) => f(v, digits)).join(' / ');

interface Row {
  measure: string;
  baseline: (r: SideRun) => number | undefined;
  silo?: (r: SideRun) => number | undefined;
  /** Largest over the rounds instead of the median. */
  peak?: boolean;
  ratio?: boolean;
  digits?: number;
}

const placedRatio = (r: SideRun) => r.placedPeak.treeBytes / r.placedBytes;
const servingRatio = (r: SideRun) => r.peak.treeBytes / r.datadirBytes;

function summarise(values: (number | undefined)[], peak?: boolean): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  if (!present.length) return undefined;
  return peak ? Math.max(...present) : median(present);
}

function sideTable(runs: { baseline: SideRun[]; silo: SideRun[] }): string {
  const extra = (r: SideRun) => r.peak.treeBytes - r.datadirBytes;
  const rows: Row[] = [
    ...PHASES.map((phase) => ({ measure: `${phase} (s)`, baseline: (r: SideRun) => r.phases[phase], ratio: true })),
    { measure: 'total to SELECT 1 (s)', baseline: (r) => r.total, ratio: true },
    { measure: 'CPU until the datadir is placed (CPU-s)', baseline: (r) => r.restoreCpuSeconds },
    { measure: 'datadir as placed (MiB)', baseline: (r) => r.placedBytes / MiB, digits: 0 },
    { measure: 'peak disk until placed (MiB)', baseline: (r) => r.placedPeak.treeBytes / MiB, peak: true, digits: 0 },
    { measure: '  ÷ datadir as placed', baseline: placedRatio, peak: true },
    { measure: 'datadir once serving (MiB)', baseline: (r) => r.datadirBytes / MiB, digits: 0 },
    { measure: 'peak disk until SELECT 1 (MiB)', baseline: (r) => r.peak.treeBytes / MiB, peak: true, digits: 0 },
    { measure: '  extra beyond the serving datadir (MiB)', baseline: (r) => extra(r) / MiB, peak: true, digits: 0 },
    { measure: '  ÷ serving datadir', baseline: servingRatio, peak: true },
    { measure: 'filesystem drop at peak, statfs (MiB)', baseline: (r) => r.peak.filesystemBytes / MiB, peak: true, digits: 0 },
    { measure: 'worker process peak RSS, VmHWM (MiB)', baseline: (r) => r.ownPeakRssMiB, peak: true, digits: 0 },
    { measure: 'largest process, GNU time (MiB)', baseline: (r) => r.treeMaxRssMiB, peak: true, digits: 0 },
  ];
  return table(
    rows.map((row) => {
      const pick = row.silo ?? row.baseline;
      const b = summarise(runs.baseline.map(row.baseline), row.peak);
      const s = summarise(runs.silo.map(pick), row.peak);
      const digits = row.digits ?? 2;
      return {
        measure: row.measure,
        baseline: f(b, digits),
        silo: f(s, digits),
        'baseline / silo': row.ratio && b !== undefined && s ? f(b / s) : '-',
        'baseline per round': rounds(runs.baseline.map(row.baseline), digits),
        'silo per round': rounds(runs.silo.map(pick), digits),
      };
    }),
  );
}

function cloneTable(c: CloneRun[]): string {
  const row = (measure: string, values: number[], peak: boolean, digits: number) => ({
    measure,
    'median (peaks: largest)': f(summarise(values, peak), digits),
    'per round': rounds(values, digits),
  });
  return table([
    row(
      'clone: silo instance init as a replica (s)',
      c.map((r) => r.seconds),
      false,
      2,
    ),
    row(
      'clone: final datadir (MiB)',
      c.map((r) => r.datadirBytes / MiB),
      false,
      0,
    ),
    row(
      'clone: peak disk of the volume (MiB)',
      c.map((r) => r.peak.treeBytes / MiB),
      true,
      0,
    ),
    row(
      'clone: init process peak RSS, VmHWM (MiB)',
      c.map((r) => r.ownPeakRssMiB),
      true,
      0,
    ),
    row(
      'clone: largest process, GNU time (MiB)',
      c.map((r) => r.treeMaxRssMiB),
      true,
      0,
    ),
  ]);
}

export function report(
  runs: { baseline: SideRun[]; silo: SideRun[]; clone: CloneRun[] },
  sizes: { sourceBytes: number; storedBytes: number },
): string {
  const total = (side: SideRun[]) => median(side.map((r) => r.total));
  const ratio = total(runs.baseline) / total(runs.silo);
  // The stricter of the two: the restore's own peak against the datadir it placed, and the whole run's against the serving one.
  const siloPeak = Math.max(...runs.silo.flatMap((r) => [placedRatio(r), servingRatio(r)]));
  const siloRss = Math.max(...runs.silo.map((r) => r.ownPeakRssMiB ?? 0));
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  const cores = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length;
  return [
    `${(sizes.sourceBytes / MiB).toFixed(0)} MiB xbstream, stored as ${(sizes.storedBytes / MiB).toFixed(0)} MiB; ${runs.silo.length} interleaved rounds; medians (disk and RSS: the largest round)`,
    '',
    sideTable(runs),
    '',
    cloneTable(runs.clone),
    '',
    `targets: time ratio baseline/silo ${ratio.toFixed(2)} (≥ 1.3: ${verdict(ratio >= 1.3)}); ` +
      `silo peak disk ${siloPeak.toFixed(2)}× the datadir (≤ 1.1: ${verdict(siloPeak <= 1.1)}); ` +
      `worker peak RSS ${siloRss.toFixed(0)} MiB (≤ 200: ${verdict(siloRss <= 200)})`,
    `${new Date().toISOString()}, ${cores} cores`,
  ].join('\n');
}
