/**
 * The recovery Job's progress line: what `silo restore physical` logs (one JSON line on stderr,
 * through its logger) at every phase change and at least every RECOVERY_PROGRESS_INTERVAL_MS, and
 * what the Cluster reconciler reads back from the newest such line of the Job Pod's log. Both sides
 * import this file (docs/decisions/0020); the worker writes with `recoveryProgressFields`, the
 * controller reads with `parseRecoveryProgress`.
 *
 *   {"ts":"…","level":"info","msg":"recovery progress","progress":{"phase":"downloading",
 *    "bytesDone":104857600,"bytesTotal":524288000,"rate":52428800,"etaSeconds":8,"link":0,"links":2}}
 *
 * Download, SHA256 verification and extraction are one streaming pass: the worker reports
 * `downloading` during it, and a link counts as verified when its pass ends. `verifying` and
 * `extracting` are kept for a worker that runs them apart.
 */

export const RECOVERY_PHASES = ['downloading', 'verifying', 'extracting', 'preparing', 'moving', 'finalizing'] as const;
export type RecoveryPhase = (typeof RECOVERY_PHASES)[number];

/** The log line's `msg`. */
export const RECOVERY_PROGRESS_MESSAGE = 'recovery progress';
/** The longest gap between two progress lines while the worker runs. */
export const RECOVERY_PROGRESS_INTERVAL_MS = 5000;

export interface RecoveryProgress {
  readonly phase: RecoveryPhase;
  /** Stored bytes of the chain downloaded and verified so far, links a rerun skipped included. */
  readonly bytesDone: number;
  /** The sum of the chain's `sizes.storedBytes` from metadata.json. */
  readonly bytesTotal: number;
  /** Bytes per second of this run's download so far; 0 outside `downloading`. */
  readonly rate: number;
  /** Seconds until the download ends at `rate`; null when unknown (no rate yet, or after the download). */
  readonly etaSeconds: number | null;
  /** The chain link being worked on (0 is the full backup), and how many links the chain has. */
  readonly link?: number;
  readonly links?: number;
}

/** Seconds each phase took in one run (a phase a rerun skipped is absent). */
export type RecoveryDurations = Partial<Record<RecoveryPhase, number>>;

/** The fields the worker passes to `logger.info(RECOVERY_PROGRESS_MESSAGE, …)`. */
export const recoveryProgressFields = (progress: RecoveryProgress): { progress: RecoveryProgress } => ({ progress });

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** A progress object from another process, checked field by field; undefined when it is not one. */
export function toRecoveryProgress(value: unknown): RecoveryProgress | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const p = value as Record<string, unknown>;
  if (!RECOVERY_PHASES.includes(p.phase as RecoveryPhase)) return undefined;
  if (!isCount(p.bytesDone) || !isCount(p.bytesTotal) || !isCount(p.rate)) return undefined;
  if (p.etaSeconds !== null && !isCount(p.etaSeconds)) return undefined;
  return {
    phase: p.phase as RecoveryPhase,
    bytesDone: p.bytesDone,
    bytesTotal: p.bytesTotal,
    rate: p.rate,
    etaSeconds: p.etaSeconds as number | null,
    ...(isCount(p.link) ? { link: p.link } : {}),
    ...(isCount(p.links) ? { links: p.links } : {}),
  };
}

/**
 * The newest progress line in a log (a Pod's log, or its tail): other log lines, cut lines and
 * lines from other tools are skipped. Undefined when there is none yet.
 */
export function parseRecoveryProgress(log: string | undefined): RecoveryProgress | undefined {
  if (!log) return undefined;
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line.startsWith('{') || !line.includes(RECOVERY_PROGRESS_MESSAGE)) continue;
    try {
      const parsed = JSON.parse(line) as { msg?: unknown; progress?: unknown };
      const progress = parsed.msg === RECOVERY_PROGRESS_MESSAGE ? toRecoveryProgress(parsed.progress) : undefined;
      if (progress) return progress;
    } catch {
      /* a cut or foreign line */
    }
  }
  return undefined;
}
