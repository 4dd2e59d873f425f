/**
 * Shared set-up for the kube integration tests: the real API server from the
 * `kube` stack component, an in-process kubelet per test file, admin clients,
 * a fresh namespace, and a poll-until helper.
 */
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { reuseConnections } from '../../../runtime/controller/kube/reused-connections.js';
import { useStack } from '../../stack/mocha.js';
import { adminKubeconfig } from '../../stack/kube/layout.js';
import { ProcessKubelet } from '../../stack/kubelet/kubelet.js';
import { kubelet as kubeletComponent } from '../../stack/components/kubelet.js';
import type { StackContext } from '../../stack/component.js';

export interface KubeFixture {
  ctx: StackContext;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  namespace: string;
  kubelet?: ProcessKubelet;
  /** spec.schedulerName for this file's pods: only this file's kubelet binds them. */
  scheduler: string;
  kubeletStateDir: string;
  kubeletLogDir: string;
}

/** Polls fn until it returns a truthy value; the error names what was awaited and the last value seen. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)?.slice(0, 2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Which 127.1.<block>.x addresses this file's kubelet hands out: files run in
 * parallel (decision 0240), and two MariaDB pods on one address would share a
 * port. Blocks 0-1 are left to the stack's kubelet component; the current
 * file names hash to distinct blocks (checked when 0240 was written).
 */
function podIpBlock(name: string): number {
  return 2 + (createHash('sha256').update(name).digest().readUInt16BE(0) % 250);
}

/**
 * Declares the kube component and registers before/after hooks in the calling
 * describe: a namespace of its own and (withKubelet) an in-process kubelet on
 * a node named after the file, so files never run each other's pods.
 */
export function useKube(name: string, opts: { withKubelet: boolean }): KubeFixture {
  const stack = useStack('kube');
  const fx = {
    ctx: stack.ctx,
    namespace: `${name}-${randomBytes(3).toString('hex')}`,
    scheduler: `process-kubelet-${name}`,
    kubeletStateDir: join(stack.ctx.root, 'kubelet-tests', name),
    kubeletLogDir: join(stack.ctx.logDir, 'kubelet-tests', name),
  } as KubeFixture;

  before(async function () {
    this.timeout(120_000);
    fx.kc = reuseConnections(new KubeConfig());
    fx.kc.loadFromFile(adminKubeconfig(fx.ctx));
    fx.core = fx.kc.makeApiClient(CoreV1Api);
    fx.apps = fx.kc.makeApiClient(AppsV1Api);
    fx.batch = fx.kc.makeApiClient(BatchV1Api);
    await fx.core.createNamespace({ body: { metadata: { name: fx.namespace } } });
    // Pods need the namespace's default ServiceAccount (ServiceAccount admission).
    await waitFor('default ServiceAccount', () => fx.core.readNamespacedServiceAccount({ namespace: fx.namespace, name: 'default' }));
    if (opts.withKubelet) {
      await kubeletComponent.install(fx.ctx); // the Debian binaries the image table maps to
      fx.kubelet = new ProcessKubelet({
        kubeConfig: fx.kc,
        stateDir: fx.kubeletStateDir,
        logDir: fx.kubeletLogDir,
        nodeName: `process-kubelet-${name}`,
        schedulerName: fx.scheduler,
        firstPodIpIndex: podIpBlock(name) * 254,
        log: (m) => fx.ctx.log(`[kubelet ${name}] ${m}`),
      });
      await fx.kubelet.start();
    }
  });

  after(async function () {
    this.timeout(60_000);
    if (!fx.core) return;
    await fx.core.deleteNamespace({ name: fx.namespace }).catch(() => undefined);
    // Let the kubelet finish the pods' graceful deletion before it stops.
    await waitFor(
      'pods of the deleted namespace to go',
      async () => (await fx.core.listNamespacedPod({ namespace: fx.namespace })).items.length === 0,
      30_000,
    ).catch(() => undefined);
    await fx.kubelet?.stop(2000);
  });

  return fx;
}

export async function podsWithLabel(fx: KubeFixture, selector: string): Promise<V1Pod[]> {
  return (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: selector })).items;
}
