/**
 * The recovery step's progress: one `RecoveryProgress` (runtime/contracts/recovery-progress.ts)
 * at every phase change and at least every interval, and the time each phase took.
 */
import {
  RECOVERY_PROGRESS_INTERVAL_MS,
  type RecoveryDurations,
  type RecoveryPhase,
  type RecoveryProgress,
} from '../../contracts/recovery-progress.js';

export class RecoveryProgressTracker {
  private current?: RecoveryPhase;
  private phaseStartedAt = 0;
  private readonly durations: Record<string, number> = {};
  private link?: number;
  /** Stored bytes of the links finished (this run or an earlier one). */
  private bytesFinished = 0;
  /** Stored bytes of the link being downloaded. */
  private bytesInLink = 0;
  /** Bytes downloaded by this run, and the milliseconds spent downloading them. */
  private bytesThisRun = 0;
  private downloadMs = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly emit: (progress: RecoveryProgress) => void,
    private readonly bytesTotal: number,
    private readonly links: number,
    private readonly options: { intervalMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Starts the heartbeat; the first line comes with the first phase. */
  start(): void {
    this.timer = setInterval(() => this.report(), this.options.intervalMs ?? RECOVERY_PROGRESS_INTERVAL_MS);
    this.timer.unref();
  }

  /** Enters `phase` (on link `link`), closing the previous one's duration, and reports at once. */
  phase(phase: RecoveryPhase, link?: number): void {
    this.closePhase();
    this.current = phase;
    this.link = link;
    this.phaseStartedAt = this.now();
    this.report();
  }

  /** Links an earlier run verified: counted as done, not as this run's rate. */
  skipped(bytes: number): void {
    this.bytesFinished += bytes;
  }

  /** The stored bytes received so far of the link being downloaded. */
  linkBytes(bytes: number): void {
    this.bytesInLink = bytes;
  }

  /** The link being downloaded ended (verified): its bytes count as finished. */
  linkDone(storedBytes: number): void {
    this.bytesThisRun += storedBytes;
    this.bytesFinished += storedBytes;
    this.bytesInLink = 0;
  }

  snapshot(): RecoveryProgress {
    const downloading = this.current === 'downloading';
    const ms = this.downloadMs + (downloading ? this.now() - this.phaseStartedAt : 0);
    const bytesRun = this.bytesThisRun + this.bytesInLink;
    const rate = downloading && ms > 0 ? Math.round((bytesRun * 1000) / ms) : 0;
    const bytesDone = Math.min(this.bytesFinished + this.bytesInLink, this.bytesTotal || Infinity);
    return {
      phase: this.current ?? 'downloading',
      bytesDone,
      bytesTotal: this.bytesTotal,
      rate,
      etaSeconds: rate > 0 ? Math.ceil(Math.max(this.bytesTotal - bytesDone, 0) / rate) : null,
      ...(this.link === undefined ? {} : { link: this.link }),
      links: this.links,
    };
  }

  report(): void {
    if (this.current) this.emit(this.snapshot());
  }

  private closePhase(): void {
    if (!this.current) return;
    const ms = this.now() - this.phaseStartedAt;
    if (this.current === 'downloading') this.downloadMs += ms;
    this.durations[this.current] = (this.durations[this.current] ?? 0) + ms;
  }

  /** Stops the heartbeat; the seconds each phase of this run took. */
  stop(): RecoveryDurations {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closePhase();
    this.current = undefined;
    return Object.fromEntries(Object.entries(this.durations).map(([phase, ms]) => [phase, Math.round(ms) / 1000])) as RecoveryDurations;
  }
}
