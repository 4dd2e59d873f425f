/**
 * Runs one Pod: volumes, init containers in order, then the containers, with
 * restartPolicy, activeDeadlineSeconds and graceful deletion, and writes the
 * Pod's status back after every change.
 */
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ContainerRecord } from './container-status.js';
import { buildPodStatus, ConditionClock, livePhase, type PodState, terminalPhases } from './pod-status.js';
import { containerMounts, startContainer } from './container-process.js';
import { ContainerConfigError, expandVars, resolveEnv } from './env.js';
import { imageRunsSilo, isSiloImage, resolveImage, type ImageResolution } from './images.js';
import { siloLauncher } from './silo-bundle.js';
import { FILE_VOLUME_REFRESH_MS, materializeVolumes, refreshFileVolumes } from './volumes.js';
import { ContainerProber } from './probes.js';
import { terminationMessage } from './termination-message.js';
import type { KubeletServices } from './services.js';

const terminal = terminalPhases;

export class PodWorker {
  readonly uid: string;
  private pod: V1Pod;
  private readonly inits: ContainerRecord[];
  private readonly containers: ContainerRecord[];
  private phase = 'Pending';
  private reason?: string;
  private message?: string;
  private initialized = false;
  private stopping = false;
  private wakeStop!: () => void;
  private readonly stopped = new Promise<void>((r) => (this.wakeStop = r));
  private deadlineTimer?: NodeJS.Timeout;
  private readonly startTime: Date;
  private readonly clock = new ConditionClock();
  private finished?: Promise<void>;
  private writer = { dirty: false, busy: Promise.resolve(), gone: false };

  constructor(
    private readonly k: KubeletServices,
    pod: V1Pod,
    readonly podIP: string,
  ) {
    this.pod = pod;
    this.uid = pod.metadata!.uid!;
    const prev = pod.status;
    this.inits = (pod.spec!.initContainers ?? []).map(
      (c) =>
        new ContainerRecord(
          c,
          true,
          prev?.initContainerStatuses?.find((s) => s.name === c.name),
        ),
    );
    this.containers = pod.spec!.containers.map(
      (c) =>
        new ContainerRecord(
          c,
          false,
          prev?.containerStatuses?.find((s) => s.name === c.name),
        ),
    );
    this.startTime = prev?.startTime ? new Date(prev.startTime) : new Date();
  }

  /** When this kubelet took the pod (bound to it and seen), for the start-up times it logs. */
  private readonly seenAt = Date.now();

  get namespace(): string {
    return this.pod.metadata!.namespace!;
  }

  get name(): string {
    return this.pod.metadata!.name!;
  }

  /** More log output may come from this container: it runs, or the pod is not finished. */
  mayStillWrite(container: string): boolean {
    const c = [...this.inits, ...this.containers].find((r) => r.name === container);
    return !!c && (c.running || (!this.stopping && !terminal.has(this.phase)));
  }

  get key(): string {
    return `${this.pod.metadata!.namespace}/${this.pod.metadata!.name}`;
  }

  start(): void {
    this.finished = this.run().catch((err) => this.k.log(`pod ${this.key}: ${err?.stack ?? err}`));
  }

  /** A newer version of the Pod from the API; deletion starts graceful termination. */
  observe(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.deleting) {
      this.deleting = true;
      const graceMs = Math.max(0, new Date(pod.metadata.deletionTimestamp).getTime() - Date.now());
      void this.terminateAndRemove(graceMs);
    }
  }

  private deleting = false;
  private sidecarsDone = false;
  private wakeSidecars!: () => void;
  private readonly sidecarsStopped = new Promise<void>((r) => (this.wakeSidecars = r));
  /** The last Warning event recorded, so a retry loop does not repeat it every few seconds. */
  private lastWarning?: string;

  /** The Pod is gone from the API already: just kill the processes. */
  async gone(): Promise<void> {
    this.writer.gone = true;
    await this.stopAll(0);
  }

  /** Kubelet shutdown: stop processes without touching the API. */
  async shutdown(graceMs: number): Promise<void> {
    this.writer.gone = true;
    await this.stopAll(graceMs);
  }

  private async terminateAndRemove(graceMs: number): Promise<void> {
    if ([...this.inits, ...this.containers].some((c) => c.process)) {
      this.k.event(this.pod, 'Normal', 'Killing', `Stopping containers (grace period ${Math.round(graceMs / 1000)}s)`);
    }
    await this.stopAll(graceMs);
    await this.finished;
    if (!terminal.has(this.phase)) this.phase = this.allSucceeded() ? 'Succeeded' : 'Failed';
    this.pushStatus();
    await this.writer.busy;
    await this.k.deletePodNow(this.pod);
  }

  private async stopAll(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wakeStop();
    clearTimeout(this.deadlineTimer);
    await Promise.all(
      [...this.inits, ...this.containers].map(async (c) => {
        const proc = c.process;
        if (!proc) return;
        await proc.stop(graceMs);
      }),
    );
  }

  private gracePeriodMs(): number {
    return (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  private armDeadline(): void {
    const seconds = this.pod.spec?.activeDeadlineSeconds;
    if (seconds === undefined || seconds === null) return;
    const remaining = this.startTime.getTime() + seconds * 1000 - Date.now();
    this.deadlineTimer = setTimeout(
      () => {
        if (this.stopping || terminal.has(this.phase)) return;
        this.k.log(`pod ${this.key}: activeDeadlineSeconds=${seconds} exceeded`);
        this.reason = 'DeadlineExceeded';
        this.message = `Pod was active on the node longer than the specified deadline`;
        this.k.event(this.pod, 'Normal', 'DeadlineExceeded', this.message);
        void this.stopAll(Math.min(this.gracePeriodMs(), 5000));
      },
      Math.max(0, remaining),
    );
  }

  private sleep(ms: number): Promise<void> {
    return Promise.race([new Promise<void>((r) => setTimeout(r, ms)), this.stopped]);
  }

  private async run(): Promise<void> {
    this.pushStatus();
    this.armDeadline();
    let volumes: Map<string, string> | undefined;
    while (!this.stopping) {
      try {
        volumes = await materializeVolumes(this.pod, this.k.podDirs(this.pod), this.k);
        break;
      } catch (err) {
        const message = (err as Error).message;
        if (message !== this.lastWarning) {
          this.k.event(this.pod, 'Warning', 'FailedMount', (this.lastWarning = message));
          // In the kubelet's log too: a Pod that starts 2 s late for a Secret not there yet is found there.
          this.k.log(`pod ${this.key}: ${message}; mounting again in 2 s`);
        }
        for (const c of [...this.inits, ...this.containers]) c.setWaiting(c.init ? 'PodInitializing' : 'ContainerCreating', message);
        this.pushStatus();
        await this.sleep(2000);
      }
    }
    if (volumes) {
      void this.refreshVolumes();
      const sidecarLoops: Promise<void>[] = [];
      for (const init of this.inits) {
        if (init.sidecar) {
          sidecarLoops.push(this.runContainer(init, volumes));
          // The next init container starts once this sidecar runs.
          while (!this.stopping && !init.everStarted) await this.sleep(100);
          continue;
        }
        if (!(await this.runInit(init, volumes))) break;
      }
      if (!this.stopping && this.inits.every((c) => (c.sidecar ? c.everStarted : c.terminated?.exitCode === 0))) {
        this.initialized = true;
        await Promise.all(this.containers.map((c) => this.runContainer(c, volumes!)));
      }
      // The containers are done: sidecars stop now, and never count for the phase.
      this.sidecarsDone = true;
      this.wakeSidecars();
      await Promise.all(this.inits.filter((c) => c.sidecar && c.process).map((c) => c.process!.stop(this.gracePeriodMs())));
      await Promise.all(sidecarLoops);
    }
    clearTimeout(this.deadlineTimer);
    this.phase = this.computeTerminalPhase();
    this.pushStatus();
  }

  /** Keeps Secret and ConfigMap volumes current while the Pod runs (volumes.ts refreshFileVolumes). */
  private async refreshVolumes(): Promise<void> {
    while (!this.stopping && !terminal.has(this.phase)) {
      await this.sleep(FILE_VOLUME_REFRESH_MS);
      if (this.stopping) return;
      await refreshFileVolumes(this.pod, this.k.podDirs(this.pod), this.k).catch(() => undefined);
    }
  }

  private computeTerminalPhase(): string {
    if (this.reason === 'DeadlineExceeded') return 'Failed';
    if (this.inits.some((c) => !c.sidecar && c.terminated && c.terminated.exitCode !== 0)) return 'Failed';
    if (!this.initialized) return this.deleting ? 'Failed' : 'Pending';
    return this.allSucceeded() ? 'Succeeded' : 'Failed';
  }

  private allSucceeded(): boolean {
    return this.initialized && this.containers.every((c) => c.terminated?.exitCode === 0);
  }

  private backoffMs(c: ContainerRecord): number {
    return Math.min(1000 * 2 ** Math.min(c.restartCount, 5), 30_000);
  }

  /** Runs an init container until it succeeds (or fails for good); true when it succeeded. */
  private async runInit(c: ContainerRecord, volumes: Map<string, string>): Promise<boolean> {
    for (;;) {
      const code = await this.runOnce(c, volumes);
      if (this.stopping || code === undefined) return false;
      if (code === 0) return true;
      if (this.pod.spec?.restartPolicy === 'Never') return false;
      await this.sleep(this.backoffMs(c));
      if (this.stopping) return false;
      c.prepareRestart();
    }
  }

  /** Runs a container (or a sidecar) with its restart policy until it is done or the pod stops. */
  private async runContainer(c: ContainerRecord, volumes: Map<string, string>): Promise<void> {
    const policy = c.sidecar ? 'Always' : (this.pod.spec?.restartPolicy ?? 'Always');
    const over = () => this.stopping || (c.sidecar && this.sidecarsDone);
    for (;;) {
      const code = await this.runOnce(c, volumes);
      if (over() || code === undefined) return;
      if (!(policy === 'Always' || (policy === 'OnFailure' && code !== 0))) return;
      const wait = this.backoffMs(c);
      c.prepareRestart();
      this.k.event(this.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name}`);
      c.setWaiting(
        'CrashLoopBackOff',
        `back-off ${Math.round(wait / 1000)}s restarting failed container=${c.name} pod=${this.pod.metadata?.name}`,
      );
      this.pushStatus();
      await (c.sidecar ? Promise.race([this.sleep(wait), this.sidecarsStopped]) : this.sleep(wait));
      if (over()) return;
    }
  }

  /** The container's local command; Silo's images first build Silo's bundle when the sources changed. */
  private async resolve(spec: V1Container): Promise<ImageResolution> {
    let launcher = '';
    if (imageRunsSilo(spec.image ?? '')) {
      try {
        launcher = await siloLauncher();
      } catch (err) {
        const message = `building Silo's image from this checkout (npm run build:runtime) failed: ${(err as Error).message}`;
        return { ok: false, reason: 'ErrImagePull', message };
      }
    }
    return resolveImage(spec.image ?? '', spec.command, spec.args, launcher);
  }

  /** Starts the container once and waits for it; undefined when it never started (stopped meanwhile). */
  private async runOnce(c: ContainerRecord, volumes: Map<string, string>): Promise<number | undefined> {
    const spec: V1Container = c.spec;
    const over = () => this.stopping || (c.sidecar && this.sidecarsDone);
    const pause = (ms: number) => (c.sidecar ? Promise.race([this.sleep(ms), this.sidecarsStopped]) : this.sleep(ms));
    for (;;) {
      if (over()) return undefined;
      const image = await this.resolve(spec);
      if (!image.ok) {
        if (image.message !== this.lastWarning) this.k.event(this.pod, 'Warning', 'Failed', (this.lastWarning = image.message));
        c.setWaiting(image.reason, image.message);
        this.pushStatus();
        await pause(5000);
        continue;
      }
      let env: Record<string, string>;
      try {
        env = await resolveEnv(this.pod, spec, this.k, this.k.baseEnv(this.pod, this.podIP));
      } catch (err) {
        if (!(err instanceof ContainerConfigError)) throw err;
        if (err.message !== this.lastWarning) this.k.event(this.pod, 'Warning', 'Failed', (this.lastWarning = `Error: ${err.message}`));
        c.setWaiting('CreateContainerConfigError', err.message);
        this.pushStatus();
        await pause(2000);
        continue;
      }
      const terminationFile = join(this.k.podDirs(this.pod).podDir, 'termination', c.name);
      const mounts = containerMounts(spec, volumes, image.run, join(this.k.podDirs(this.pod).podDir, 'anonymous', c.name), terminationFile);
      // The pods' names by hostname and subdomain, as cluster DNS would answer them (cluster-dns.ts).
      mounts.push({ source: this.k.hostsFilePath(), target: '/etc/hosts', readOnly: true });
      // Deletion or the deadline may have struck during the awaits above; from
      // here to setRunning nothing awaits, so stopAll() cannot miss this process.
      if (over()) return undefined;
      const argv = image.run.argv.map((a) => expandVars(a, env));
      const cwd = isSiloImage(spec.image ?? '') || !spec.workingDir ? image.run.cwd : spec.workingDir;
      const logPath = this.k.containerLogPath(this.pod, c.name);
      const proc = startContainer({ argv, env: { ...image.run.env, ...env }, cwd, mounts, logPath });
      this.k.recordPid(this.uid, c.name, proc.pid);
      // With milliseconds, where a slow Pod start went (the API's timestamps are whole seconds).
      this.k.log(`pod ${this.key}: started container ${c.name}, ${Date.now() - this.seenAt} ms after the pod came here`);
      // Never the argv: after $(VAR) expansion it may hold Secret values.
      this.k.event(this.pod, 'Normal', 'Started', `Started container ${c.name}`);
      c.setRunning(proc);
      this.pushStatus();
      const prober =
        c.init && !c.sidecar
          ? undefined
          : new ContainerProber(
              { pid: proc.pid, podIP: this.podIP, env: { ...image.run.env, ...env }, cwd, container: spec },
              {
                onReady: (ready) => {
                  if (c.process !== proc || c.probeReady === ready) return;
                  c.probeReady = ready;
                  this.pushStatus();
                },
                onUnhealthy: (why) => {
                  this.k.log(`pod ${this.key} container ${c.name}: ${why}; killing it`);
                  this.k.event(this.pod, 'Warning', 'Unhealthy', `Container ${c.name} ${why}, will be restarted`);
                  void proc.stop(this.gracePeriodMs());
                },
              },
            );
      prober?.start();
      const exit = await proc.exited;
      prober?.stop();
      this.k.forgetPid(this.uid, c.name);
      c.setTerminated(exit, proc.startedAt, terminationMessage(spec, terminationFile, logPath, exit.exitCode));
      this.pushStatus();
      return exit.exitCode;
    }
  }

  private state(): PodState {
    return {
      phase: this.phase,
      reason: this.reason,
      message: this.message,
      initialized: this.initialized,
      inits: this.inits,
      containers: this.containers,
      podIP: this.podIP,
      startTime: this.startTime,
      qosClass: this.pod.status?.qosClass,
    };
  }

  /** Coalesces status writes: the latest state wins, one request at a time. */
  private pushStatus(): void {
    if (this.writer.gone) return;
    if (this.writer.dirty) return;
    this.writer.dirty = true;
    this.writer.busy = this.writer.busy.then(async () => {
      this.writer.dirty = false;
      if (this.writer.gone) return;
      this.phase = livePhase(this.state());
      const status = buildPodStatus(this.state(), this.clock);
      const ok = await this.k.writePodStatus(this.pod, status);
      if (ok === 'gone') this.writer.gone = true;
    });
  }
}
