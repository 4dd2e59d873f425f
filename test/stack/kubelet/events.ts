/**
 * Best-effort core/v1 Events about pods, like the kubelet and scheduler write,
 * so `kubectl describe pod` tells what happened. Failures to record are ignored.
 */
import { randomBytes } from 'node:crypto';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { kubeTime } from './container-status.js';

export async function recordPodEvent(
  core: CoreV1Api,
  pod: V1Pod,
  component: { component: string; host?: string },
  event: { type: 'Normal' | 'Warning'; reason: string; message: string },
): Promise<void> {
  const { type, reason, message } = event;
  const now = kubeTime() as unknown as Date;
  const ns = pod.metadata!.namespace!;
  await core
    .createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: `${pod.metadata!.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod.metadata!.name, uid: pod.metadata!.uid },
        type,
        reason,
        message,
        source: component,
        reportingComponent: component.component,
        reportingInstance: component.host ?? component.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    })
    .catch(() => undefined);
}
