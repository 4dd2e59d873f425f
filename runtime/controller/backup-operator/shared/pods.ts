/** Pod calls that tolerate the repeats a level-triggered reconciler makes. */
import { ApiException, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

const code = (error: unknown): number | undefined => (error instanceof ApiException ? error.code : undefined);

export async function readPod(kubeConfig: KubeConfig, namespace: string, name: string): Promise<V1Pod | undefined> {
  try {
    return await kubeConfig.makeApiClient(CoreV1Api).readNamespacedPod({ namespace, name });
  } catch (error) {
    if (code(error) === 404) return undefined;
    throw error;
  }
}

/** Creates the Pod; an existing Pod of that name (an earlier attempt) counts as created. */
export async function createPod(kubeConfig: KubeConfig, pod: V1Pod): Promise<void> {
  try {
    await kubeConfig.makeApiClient(CoreV1Api).createNamespacedPod({ namespace: pod.metadata!.namespace!, body: pod });
  } catch (error) {
    if (code(error) !== 409) throw error;
  }
}

export async function deletePod(kubeConfig: KubeConfig, namespace: string, name: string, gracePeriodSeconds?: number): Promise<void> {
  try {
    await kubeConfig.makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace, name, ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}) });
  } catch (error) {
    if (code(error) !== 404) throw error;
  }
}
