/**
 * The recovery Job: `silo restore physical` on the first instance's PVC, before that instance's Pod
 * exists (decision 0263). The storage credentials and the age identity are in this short-lived Job
 * only, never in a database Pod (principle 5). It restores exactly the chain recorded in
 * status.recovery (never re-resolved) and writes the volume's state file last, so the instance's
 * database container never starts a half-restored datadir.
 */
import type { V1Job, V1OwnerReference, V1Toleration, V1ResourceRequirements } from '@kubernetes/client-node';
import type { ClusterResource, RecoveryStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { MYSQL_ENGINE } from '../../../contracts/engines.js';
import { DATA_DIR, INSTANCE_FS_GROUP, LABELS, PVC_MOUNT, WORK_DIR } from '../../../contracts/instance-pod.js';
import { encodeWorkerEnv } from '../../../contracts/worker-env.js';
import { MANAGED_BY, fitName } from '../../kube/names.js';
import { storeEnv } from '../backup/backup-store.js';

export const RECOVERY_CONTAINER = 'recovery';
export const RECOVERY_COMPONENT = 'recovery';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const RECOVERY_JOB_SELECTOR = `${COMPONENT_LABEL}=${RECOVERY_COMPONENT},${LABELS.cluster}`;
/** A recovery may take hours on a big datadir; the Job never outlives this. */
export const RECOVERY_DEADLINE_SECONDS = 86_400;

export const recoveryJobName = (instanceName: string, attempt: number): string => fitName(`${instanceName}-recovery-${attempt}`, 63);

export interface RecoveryJobInput {
  readonly cluster: ClusterResource & { metadata: { name: string; namespace: string } };
  readonly recovery: RecoveryStatus;
  readonly instanceName: string;
  readonly attempt: number;
  readonly image: string;
  readonly owner: V1OwnerReference;
}

export function renderRecoveryJob(input: RecoveryJobInput): V1Job {
  const { cluster, recovery, instanceName, attempt, owner } = input;
  const { name: clusterName, namespace } = cluster.metadata;
  const store = recovery.objectStore!;
  const s = storeEnv(store);
  const identity = store.encryption?.age.identitySecretRef;
  const labels = {
    ...MANAGED_BY,
    [COMPONENT_LABEL]: RECOVERY_COMPONENT,
    [LABELS.cluster]: clusterName,
    [LABELS.instanceName]: instanceName,
  };
  const env = [
    ...s.env,
    ...encodeWorkerEnv({
      metadataKeys: (recovery.chain ?? []).map((link) => link.metadataKey!),
      // The worker refuses a metadata.json whose sha256 differs from what was resolved (swapped since).
      chainSha256s: (recovery.chain ?? []).map((link) => link.sha256!),
      backupId: recovery.backupID,
      cluster: clusterName,
      namespace,
      engine: MYSQL_ENGINE.name,
      deadlineSeconds: RECOVERY_DEADLINE_SECONDS - 60,
      ...(identity ? { ageIdentity: { secretKeyRef: { name: identity.name, key: identity.key } } } : {}),
      podName: true,
    }),
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: recoveryJobName(instanceName, attempt),
      namespace,
      labels,
      annotations: { 'mysql.cloudnative-mysql.io/backup-id': recovery.backupID ?? '' },
      ownerReferences: [owner],
    },
    spec: {
      // Attempts are the reconciler's (status.recovery.attempts): each is a new Job that resumes on the volume.
      backoffLimit: 0,
      activeDeadlineSeconds: RECOVERY_DEADLINE_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          // It writes the datadir as the instance image's user, like the instance Pod (instance-pod.ts).
          securityContext: { fsGroup: INSTANCE_FS_GROUP, fsGroupChangePolicy: 'OnRootMismatch' },
          ...(cluster.spec.serviceAccountName ? { serviceAccountName: cluster.spec.serviceAccountName } : {}),
          ...(cluster.spec.imagePullSecrets?.length
            ? { imagePullSecrets: cluster.spec.imagePullSecrets.map((p) => ({ name: p.name })) }
            : {}),
          ...(cluster.spec.tolerations?.length ? { tolerations: cluster.spec.tolerations as V1Toleration[] } : {}),
          containers: [
            {
              name: RECOVERY_CONTAINER,
              image: input.image,
              command: ['silo', 'restore', 'physical', '--data-dir', DATA_DIR, '--work-dir', WORK_DIR],
              env,
              ...(cluster.spec.backup?.resources ? { resources: cluster.spec.backup.resources as V1ResourceRequirements } : {}),
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [{ name: 'data', mountPath: PVC_MOUNT }, ...s.mounts],
            },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: instanceName } }, ...s.volumes],
        },
      },
    },
  };
}
