/** Reading the operator's leader-election Lease and its metrics, for the controller tests. */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { OPERATOR_NAMESPACE } from '../../support/operator-process.js';

export async function readLease(kc: KubeConfig, name: string): Promise<V1Lease | undefined> {
  try {
    return await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: OPERATOR_NAMESPACE, name });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

export async function deleteLease(kc: KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(CoordinationV1Api)
    .deleteNamespacedLease({ namespace: OPERATOR_NAMESPACE, name })
    .catch(() => undefined);
}

/** The value of an unlabelled sample (e.g. silo_leader) in Prometheus text, or undefined. */
export async function scrape(url: string, metric: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** Sum of every sample of a metric (all label sets), optionally only lines containing `filter`; 0 when absent. */
export async function scrapeSum(url: string, metric: string, filter = ''): Promise<number> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${metric}{`) || l.startsWith(`${metric} `)) && l.includes(filter))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
