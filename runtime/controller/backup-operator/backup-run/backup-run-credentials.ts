/**
 * Pods can only reference Secrets of their own namespace, while a
 * BackupStorage's credentials Secret may live anywhere (seed 002:
 * `namespace: minio`). When the namespaces differ, the controller copies just
 * the needed keys into a Secret owned by the run, which lives as long as the
 * run's Pods (docs/decisions/0210-backup-run-pod-shape.md). Values go from the
 * API server to the API server; they are never logged or put in status.
 */
import { ApiException, type V1Secret } from '@kubernetes/client-node';
import type { KubeClient, Secret } from '../../kube/client.js';
import { MANAGED_BY, boundedName, labelValue } from '../../kube/names.js';
import { LABEL_RUN } from '../shared/names.js';

export const credentialsCopyName = (runName: string): string => boundedName(runName, 'storage-credentials', 253);

export interface CredentialsCopyInput {
  readonly client: KubeClient;
  readonly source: Secret;
  readonly keys: readonly string[];
  readonly namespace: string;
  readonly runName: string;
  readonly runUid: string;
}

/** The name of a Secret in the run's namespace holding `keys`: the source itself when it is already there. */
export async function ensureCredentialsInNamespace(input: CredentialsCopyInput): Promise<string> {
  if (input.source.metadata?.namespace === input.namespace) return input.source.metadata!.name!;
  const name = credentialsCopyName(input.runName);
  const body: V1Secret = {
    metadata: {
      name,
      namespace: input.namespace,
      labels: { ...MANAGED_BY, [LABEL_RUN]: labelValue(input.runName) },
      ownerReferences: [
        {
          apiVersion: 'backup-operator.io/v1',
          kind: 'BackupRun',
          name: input.runName,
          uid: input.runUid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    type: 'Opaque',
    data: Object.fromEntries(input.keys.map((k) => [k, input.source.data![k]])),
  };
  try {
    await input.client.createSecret(input.namespace, body);
  } catch (error) {
    // 409: already there from an earlier attempt of this reconcile, for this same run.
    if (!(error instanceof ApiException && error.code === 409))
      throw new Error(`HTTP ${error instanceof ApiException ? error.code : (error as Error).name}`, { cause: error });
  }
  return name;
}

/** Removes the copy once no Pod of the run needs it. */
export async function deleteCredentialsCopy(client: KubeClient, namespace: string, runName: string): Promise<void> {
  const name = credentialsCopyName(runName);
  try {
    // `get` first: most runs use a Secret of their own namespace and have no copy, and the
    // operator may only delete Secrets when copies are enabled in its RBAC (ADR 0210).
    const copy = await client.readSecret(namespace, name);
    if (!copy.metadata?.ownerReferences?.some((o) => o.kind === 'BackupRun' && o.name === runName)) return;
    await client.deleteSecret(namespace, name);
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 404)) throw error;
  }
}
