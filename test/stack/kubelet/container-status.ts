/**
 * Bookkeeping for one container of a pod and how it is reported in
 * status.containerStatuses / initContainerStatuses.
 */
import type { V1Container, V1ContainerState, V1ContainerStatus } from '@kubernetes/client-node';
import type { ContainerExit, RunningContainer } from './container-process.js';

/** metav1.Time wants RFC 3339; drop the milliseconds like the kubelet does. */
export const kubeTime = (d: Date = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class ContainerRecord {
  state: V1ContainerState;
  lastState: V1ContainerState = {};
  restartCount = 0;
  process?: RunningContainer;
  lastExit?: ContainerExit;
  /** Started at least once (a sidecar that runs only briefly still lets the pod go on). */
  everStarted = false;
  /** The readiness probe's verdict (true at once when there is none). */
  probeReady = false;

  constructor(
    readonly spec: V1Container,
    readonly init: boolean,
    previous?: V1ContainerStatus,
  ) {
    this.state = { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } };
    // A kubelet restart keeps the count the API already shows.
    if (previous) this.restartCount = previous.restartCount ?? 0;
  }

  get name(): string {
    return this.spec.name;
  }

  get running(): boolean {
    return this.state.running !== undefined;
  }

  /** A native sidecar: an init container with restartPolicy Always, running beside the containers. */
  get sidecar(): boolean {
    return this.init && this.spec.restartPolicy === 'Always';
  }

  get ready(): boolean {
    return this.running && (!this.init || this.sidecar) && this.probeReady;
  }

  get terminated(): V1ContainerState['terminated'] {
    return this.state.terminated;
  }

  setWaiting(reason: string, message?: string): void {
    this.state = { waiting: { reason, ...(message ? { message } : {}) } };
  }

  setRunning(proc: RunningContainer): void {
    this.process = proc;
    this.everStarted = true;
    this.state = { running: { startedAt: kubeTime(proc.startedAt) as unknown as Date } };
  }

  setTerminated(exit: ContainerExit, startedAt: Date | undefined, message?: string): void {
    this.lastExit = exit;
    this.process = undefined;
    this.probeReady = false;
    this.state = {
      terminated: {
        exitCode: exit.exitCode,
        reason: exit.exitCode === 0 ? 'Completed' : 'Error',
        ...(message ? { message } : {}),
        ...(startedAt ? { startedAt: kubeTime(startedAt) as unknown as Date } : {}),
        finishedAt: kubeTime(exit.finishedAt) as unknown as Date,
        containerID: `process://${this.name}`,
      },
    };
  }

  /** Before a restart: the terminated state moves to lastState. */
  prepareRestart(): void {
    if (this.state.terminated) this.lastState = { terminated: this.state.terminated };
    this.restartCount++;
  }

  toStatus(): V1ContainerStatus {
    return {
      name: this.name,
      image: this.spec.image ?? '',
      imageID: `process-kubelet://${this.spec.image ?? ''}`,
      ...(this.process ? { containerID: `process://${this.process.pid}` } : {}),
      state: this.state,
      lastState: this.lastState,
      ready: this.ready,
      restartCount: this.restartCount,
      started: this.running,
    };
  }
}
