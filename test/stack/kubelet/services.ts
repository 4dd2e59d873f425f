/**
 * What a PodWorker needs from the kubelet around it: API calls, paths and the
 * environment every container gets. The ProcessKubelet implements it.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { VolumeDeps, VolumeDirs } from './volumes.js';

export interface KubeletServices extends VolumeDeps {
  log(message: string): void;
  podDirs(pod: V1Pod): VolumeDirs;
  /** The hosts file bound over every container's /etc/hosts (cluster-dns.ts). */
  hostsFilePath(): string;
  /** Variables every container gets before its own env (service discovery, hostname, PATH). */
  baseEnv(pod: V1Pod, podIP: string): Record<string, string>;
  containerLogPath(pod: V1Pod, container: string): string;
  recordPid(uid: string, container: string, pid: number): void;
  forgetPid(uid: string, container: string): void;
  /** Replaces the Pod's status; 'gone' when the Pod no longer exists. */
  writePodStatus(pod: V1Pod, status: object): Promise<'ok' | 'gone' | 'error'>;
  /** Records a core/v1 Event about the pod (best effort, never throws). */
  event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** The final delete with grace period 0, after the processes are gone. */
  deletePodNow(pod: V1Pod): Promise<void>;
}
