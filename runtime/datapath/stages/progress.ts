/**
 * Reports bytes and throughput at most once per interval, so a long stream
 * logs a steady heartbeat instead of one line per chunk.
 */
export class ProgressReporter {
  private readonly startedAt = Date.now();
  private lastReportAt = 0;

  constructor(
    private readonly report: (progress: { bytes: number; bytesPerSecond: number; elapsedSeconds: number }) => void,
    private readonly intervalMs = 10_000,
  ) {}

  update(bytes: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastReportAt < this.intervalMs) return;
    this.lastReportAt = now;
    const elapsedSeconds = Math.max((now - this.startedAt) / 1000, 0.001);
    this.report({ bytes, bytesPerSecond: Math.round(bytes / elapsedSeconds), elapsedSeconds });
  }
}
