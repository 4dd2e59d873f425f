/**
 * The process kubelet: registers a Node, binds unscheduled Pods to it (it is
 * the only node, so it is also the scheduler) and runs every Pod bound to it
 * as local processes through a PodWorker. Usable in-process (tests) and as the
 * `kubelet` stack component (main.ts).
 */
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { PodWorker } from './pod-worker.js';
import { PodIpAllocator } from './pod-ips.js';
import type { KubeletServices } from './services.js';
import { registerNode, heartbeat } from './node.js';
import { claimDirectory } from './claims.js';
import { KUBELET_MARK_VAR, PidFiles, killMarked } from './pid-files.js';
import { startLogServer } from './log-server.js';
import type { Server } from 'node:https';
import { recordPodEvent } from './events.js';
import { PodHostsFile } from './cluster-dns.js';
import { siloLauncher } from './silo-bundle.js';
import { reuseConnections } from '../../../runtime/controller/kube/reused-connections.js';

export const DEFAULT_NODE_NAME = 'process-kubelet';

export interface ProcessKubeletOptions {
  kubeConfig: KubeConfig;
  /** Pod scratch dirs, PVC data, pid files. */
  stateDir: string;
  /** Container logs: <logDir>/pods/<namespace>_<pod>_<uid>/<container>.log */
  logDir: string;
  nodeName?: string;
  /**
   * Only unscheduled pods with this spec.schedulerName are bound here (default
   * "default-scheduler"), so an in-process test kubelet and the stack's
   * kubelet component never take each other's pods.
   */
  schedulerName?: string;
  log?: (message: string) => void;
  /**
   * Pod IP index to start at (see pod-ips.ts). Kubelets that run at the same
   * time (parallel test files) start far apart so their pods never share an address.
   */
  firstPodIpIndex?: number;
}

const statusCode = (err: unknown): number | undefined => (err as { code?: number })?.code;

export class ProcessKubelet implements KubeletServices {
  readonly nodeName: string;
  private readonly core: CoreV1Api;
  private readonly workers = new Map<string, PodWorker>();
  private readonly binding = new Set<string>();
  private readonly ips: PodIpAllocator;
  private stopped = false;
  private watchAbort?: AbortController;
  private heartbeatTimer?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private readonly apiserver: URL;
  private readonly pids: PidFiles;
  private logServer?: Server;
  private kubeletPort = 0;
  private readonly hosts: PodHostsFile;

  constructor(private readonly opts: ProcessKubeletOptions) {
    this.nodeName = opts.nodeName ?? DEFAULT_NODE_NAME;
    // Every status patch and watch on kept-alive connections, as the operator's (decision 0022).
    this.core = reuseConnections(opts.kubeConfig).makeApiClient(CoreV1Api);
    this.apiserver = new URL(opts.kubeConfig.getCurrentCluster()!.server);
    this.pids = new PidFiles(join(opts.stateDir, 'pids'));
    this.ips = new PodIpAllocator(opts.firstPodIpIndex ?? 0);
    this.hosts = new PodHostsFile(join(opts.stateDir, 'cluster-dns', 'hosts'));
  }

  log(message: string): void {
    (this.opts.log ?? ((m) => console.error(`[kubelet] ${m}`)))(message);
  }

  async start(): Promise<void> {
    this.pids.killRecorded(); // container process groups left by a kubelet that was killed hard
    // And any process still marked as one of this kubelet's containers: the pid files go with the state directory,
    // which a test fixture or the stack removes; a server left from a hard-killed run kept its pod IP and port, and
    // the next run's Pod on that IP crash-looped on "Address already in use".
    const swept = killMarked(this.opts.stateDir);
    if (swept.length) this.log(`killed ${swept.length} container processes left by an earlier run: ${swept.join(', ')}`);
    // Build Silo's image now rather than at its first container start (a no-op when the sources have not changed).
    siloLauncher().catch((err) => this.log(`building Silo's image: ${(err as Error).message}`));
    const logs = await startLogServer(join(this.opts.stateDir, 'tls'), {
      logPath: (ns, pod, container) => {
        const w = this.findWorker(ns, pod);
        return w ? containerLogPath(this.opts.logDir, w.namespace, w.name, w.uid, container) : undefined;
      },
      stillWriting: (ns, pod, container) => this.findWorker(ns, pod)?.mayStillWrite(container) ?? false,
    });
    this.logServer = logs.server;
    this.kubeletPort = logs.port;
    await registerNode(this.core, this.nodeName, this.kubeletPort);
    this.heartbeatTimer = setInterval(
      () => void heartbeat(this.core, this.nodeName, this.kubeletPort).catch((e) => this.log(`heartbeat: ${e}`)),
      10_000,
    );
    this.heartbeatTimer.unref(); // never the reason a test process stays alive
    this.loop = this.podLoop();
  }

  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    this.watchAbort?.abort();
    await Promise.all([...this.workers.values()].map((w) => w.shutdown(graceMs)));
    this.workers.clear();
    await this.loop;
    await heartbeat(this.core, this.nodeName, this.kubeletPort, false).catch(() => undefined);
    this.logServer?.close();
  }

  // --- watching Pods: list, then watch from that resourceVersion; relist on any end.
  private async podLoop(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      try {
        const list = await this.core.listPodForAllNamespaces();
        const listed = new Set<string>();
        for (const pod of list.items) {
          listed.add(pod.metadata!.uid!);
          this.onPod('SYNC', pod);
        }
        for (const [uid, w] of this.workers) if (!listed.has(uid)) this.forget(uid, w);
        await this.watchFrom(list.metadata!.resourceVersion!);
        backoff = 500;
      } catch (err) {
        if (this.stopped) break;
        this.log(`pod watch: ${(err as Error).message ?? err}; retrying in ${backoff} ms`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private watchFrom(resourceVersion: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const watch = new Watch(this.opts.kubeConfig);
      watch
        .watch(
          '/api/v1/pods',
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 60 },
          (type, obj) => {
            if (type === 'BOOKMARK' || type === 'ERROR') return; // ERROR (e.g. 410 Gone) ends the watch: relist
            this.onPod(type, obj as V1Pod);
          },
          (err) => (err && !this.stopped ? reject(err) : resolve()),
        )
        .then((ac) => {
          this.watchAbort = ac;
          if (this.stopped) ac.abort();
        }, reject);
    });
  }

  private onPod(type: string, pod: V1Pod): void {
    const uid = pod.metadata!.uid!;
    const worker = this.workers.get(uid);
    if (type === 'DELETED') {
      if (worker) this.forget(uid, worker);
      return;
    }
    if (!pod.spec?.nodeName) {
      const scheduler = pod.spec?.schedulerName ?? 'default-scheduler';
      if (!pod.metadata?.deletionTimestamp && scheduler === (this.opts.schedulerName ?? 'default-scheduler')) void this.bind(pod);
      return;
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    if (worker) {
      worker.observe(pod);
      return;
    }
    const phase = pod.status?.phase;
    if (pod.metadata?.deletionTimestamp) {
      void this.deletePodNow(pod); // nothing runs for it here
      return;
    }
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const w = new PodWorker(this, pod, this.ips.allocate(uid, pod.status?.podIP));
    this.workers.set(uid, w);
    this.hosts.set(uid, pod, w.podIP);
    this.log(`starting pod ${w.key} (${w.podIP})`);
    w.start();
  }

  private findWorker(namespace: string, name: string): PodWorker | undefined {
    // The newest worker for the name: a StatefulSet pod may have a terminating predecessor.
    return [...this.workers.values()].reverse().find((w) => w.namespace === namespace && w.name === name);
  }

  private forget(uid: string, worker: PodWorker): void {
    this.workers.delete(uid);
    this.ips.release(uid);
    this.hosts.forget(uid);
    void worker.gone();
  }

  private async bind(pod: V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!;
    if (this.binding.has(uid)) return;
    this.binding.add(uid);
    try {
      await this.core.createNamespacedPodBinding({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata!.name!, uid },
          target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName },
        },
      });
      this.log(`bound pod ${pod.metadata!.namespace}/${pod.metadata!.name}`);
      void recordPodEvent(
        this.core,
        pod,
        { component: this.opts.schedulerName ?? 'default-scheduler' },
        {
          type: 'Normal',
          reason: 'Scheduled',
          message: `Successfully assigned ${pod.metadata!.namespace}/${pod.metadata!.name} to ${this.nodeName}`,
        },
      );
    } catch (err) {
      if (statusCode(err) !== 409 && statusCode(err) !== 404) this.log(`bind ${pod.metadata!.namespace}/${pod.metadata!.name}: ${err}`);
    } finally {
      this.binding.delete(uid);
    }
  }

  // --- KubeletServices
  event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void recordPodEvent(this.core, pod, { component: 'kubelet', host: this.nodeName }, { type, reason, message });
  }

  secret = async (namespace: string, name: string) => this.readOrUndefined(() => this.core.readNamespacedSecret({ namespace, name }));
  configMap = async (namespace: string, name: string) => this.readOrUndefined(() => this.core.readNamespacedConfigMap({ namespace, name }));

  private async readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async serviceAccountToken(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const res = await this.core.createNamespacedServiceAccountToken({
      namespace: pod.metadata!.namespace!,
      name: pod.spec?.serviceAccountName ?? 'default',
      body: {
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! },
        },
      },
    });
    return res.status!.token;
  }

  claimDirectory(namespace: string, claimName: string, pvcRoot: string): Promise<string> {
    return claimDirectory(this.core, this.nodeName, namespace, claimName, pvcRoot);
  }

  hostsFilePath(): string {
    return this.hosts.path;
  }

  podDirs(pod: V1Pod) {
    return { podDir: join(this.opts.stateDir, 'pods', pod.metadata!.uid!), pvcRoot: join(this.opts.stateDir, 'pvc') };
  }

  baseEnv(pod: V1Pod, podIP: string): Record<string, string> {
    const host = this.apiserver.hostname;
    const port = this.apiserver.port || '443';
    return {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      HOSTNAME: pod.spec?.hostname ?? pod.metadata!.name!,
      // In-cluster clients find the API server through these (there is no Service network here).
      KUBERNETES_SERVICE_HOST: host,
      KUBERNETES_SERVICE_PORT: port,
      KUBERNETES_SERVICE_PORT_HTTPS: port,
      KUBERNETES_PORT: `tcp://${host}:${port}`,
      // Image entrypoints (images.ts) bind servers to this, as all pods share the host network.
      KUBELET_POD_IP: podIP,
      // Which kubelet started it, for killMarked() when the pid files are gone.
      [KUBELET_MARK_VAR]: this.opts.stateDir,
    };
  }

  containerLogPath(pod: V1Pod, container: string): string {
    return containerLogPath(this.opts.logDir, pod.metadata!.namespace!, pod.metadata!.name!, pod.metadata!.uid!, container);
  }

  recordPid(uid: string, container: string, pid: number): void {
    this.pids.record(`${uid}.${container}`, pid);
  }

  forgetPid(uid: string, container: string): void {
    this.pids.forget(`${uid}.${container}`);
  }

  async writePodStatus(pod: V1Pod, status: object): Promise<'ok' | 'gone' | 'error'> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.core.patchNamespacedPodStatus({
          name: pod.metadata!.name!,
          namespace: pod.metadata!.namespace!,
          body: [
            { op: 'test', path: '/metadata/uid', value: pod.metadata!.uid },
            { op: 'replace', path: '/status', value: status },
          ],
        });
        return 'ok';
      } catch (err) {
        const code = statusCode(err);
        if (code === 404) return 'gone';
        if (code === 422) {
          // the uid test failed (a new pod took the name) or the status is invalid
          this.log(`status of ${pod.metadata!.namespace}/${pod.metadata!.name} rejected: ${err}`);
          return 'error';
        }
        this.log(`status of ${pod.metadata!.namespace}/${pod.metadata!.name}: ${err}`);
        await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
      }
    }
    return 'error';
  }

  async deletePodNow(pod: V1Pod): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } },
      });
    } catch (err) {
      const code = statusCode(err);
      if (code !== 404 && code !== 409) this.log(`delete ${pod.metadata!.namespace}/${pod.metadata!.name}: ${err}`);
    }
  }
}

export function containerLogPath(logDir: string, namespace: string, pod: string, uid: string, container: string): string {
  return join(logDir, 'pods', `${namespace}_${pod}_${uid}`, `${container}.log`);
}
