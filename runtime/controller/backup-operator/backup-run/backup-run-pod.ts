/**
 * The Pods of a BackupRun (docs/decisions/0210-backup-run-pod-shape.md). No
 * exec: the user's command runs in the user's container with its stdout
 * redirected into a named pipe on a shared emptyDir, and Silo's worker
 * container streams the pipe to the store (FifoSource). The restore is the
 * reverse: the worker writes the verified plain stream into the pipe, and the
 * user's restore command reads it on stdin. Credentials reach only the worker.
 */
import type { V1Container, V1EnvVar, V1OwnerReference, V1Pod, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import type { BackupRunSpec, RunCommand } from '../../../../src/api/backup-operator.io/types.js';
import { MANAGED_BY, boundedName, labelValue } from '../../kube/names.js';
import { LABEL_ROLE, LABEL_RUN, LABEL_SCHEDULE } from '../shared/names.js';
import { encodeWorkerEnv } from '../../../contracts/worker-env.js';
import { TERMINATION_LOG } from '../../../contracts/worker-result.js';

export const WORKER_CONTAINER = 'silo-worker';
export const PREPARE_CONTAINER = 'silo-prepare';
export const SHARED_VOLUME = 'silo-stream';
export const SHARED_DIR = '/silo';
export const DATA_PIPE = `${SHARED_DIR}/data`;
export const STATUS_FILE = `${SHARED_DIR}/status`;
/** Extra Pod lifetime beyond deadlineSeconds: start-up time, so the worker's own deadline (a clear reason) fires first. */
export const POD_DEADLINE_SLACK_SECONDS = 60;
export const DEFAULT_DEADLINE_SECONDS = 3600;

export type RunPodRole = 'backup' | 'restore' | 'cleanup';

export interface RunPodInput {
  readonly runName: string;
  readonly namespace: string;
  readonly runUid: string;
  readonly scheduleName: string;
  readonly spec: BackupRunSpec;
  readonly workerImage: string;
  /** Non-secret store env (storageEnv) plus secretKeyRef credentials (credentialEnv). */
  readonly storeEnv: readonly V1EnvVar[];
  /** Object key of the data; metadata.json sits beside it as `<key>.metadata.json`. */
  readonly dataKey: string;
  readonly backupId: string;
}

export const podNameFor = (runName: string, role: RunPodRole): string => boundedName(runName, role);
export const metadataKeyFor = (dataKey: string): string => `${dataKey}.metadata.json`;

/** `/backups/x.sql` → `backups/x.sql`: S3-style stores treat a leading slash as part of the key. */
export const objectKeyFromPath = (renderedPath: string): string => renderedPath.replace(/^\/+/, '');

// "$@" is the user's command and args, passed as positional parameters so no quoting can break them.
// The status is written to a temp file and renamed, so the worker never reads a half-written number.
const BACKUP_WRAPPER = `"$@" > ${DATA_PIPE}; s=$?; echo "$s" > ${STATUS_FILE}.tmp && mv ${STATUS_FILE}.tmp ${STATUS_FILE}; exit "$s"`;
const RESTORE_WRAPPER = `"$@" < ${DATA_PIPE}; s=$?; echo "$s" > ${STATUS_FILE}.tmp && mv ${STATUS_FILE}.tmp ${STATUS_FILE}; exit "$s"`;
// Run by `silo restore command` in the worker: its stdin is the verified plain stream, closed only after
// the checksum matched; it then waits for the user's exit status so a failed restore command fails the worker.
const RESTORE_FEEDER =
  `cat > ${DATA_PIPE}; c=$?; while [ ! -s ${STATUS_FILE} ]; do sleep 0.2; done; s=$(cat ${STATUS_FILE}); ` +
  `if [ "$s" != 0 ]; then echo "the restore command exited with status $s" >&2; exit "$s"; fi; exit "$c"`;

const ownerReference = (input: Pick<RunPodInput, 'runName' | 'runUid'>): V1OwnerReference => ({
  apiVersion: 'backup-operator.io/v1',
  kind: 'BackupRun',
  name: input.runName,
  uid: input.runUid,
  controller: true,
  blockOwnerDeletion: true,
});

function deadlineOf(command: RunCommand | undefined): number {
  return command?.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;
}

function userContainer(container: V1Container, command: RunCommand, wrapper: string, mountPath: string): V1Container {
  return {
    ...container,
    command: ['/bin/sh', '-c', wrapper, 'silo-command', ...command.command, ...(command.args ?? [])],
    args: undefined,
    // The database image's own start-up (entrypoint, probes) does not apply to a one-shot command.
    readinessProbe: undefined,
    livenessProbe: undefined,
    startupProbe: undefined,
    volumeMounts: [...(container.volumeMounts ?? []), { name: SHARED_VOLUME, mountPath }],
  };
}

function basePod(input: RunPodInput, role: RunPodRole): { metadata: V1Pod['metadata']; spec: V1PodSpec } {
  const template = input.spec.template as {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: V1PodSpec;
  };
  const spec = structuredClone(template.spec ?? { containers: [] }) as V1PodSpec;
  return {
    metadata: {
      name: podNameFor(input.runName, role),
      namespace: input.namespace,
      labels: {
        ...(template.metadata?.labels ?? {}),
        ...MANAGED_BY,
        [LABEL_RUN]: labelValue(input.runName),
        [LABEL_ROLE]: role,
        ...(input.scheduleName ? { [LABEL_SCHEDULE]: labelValue(input.scheduleName) } : {}),
      },
      annotations: { ...(template.metadata?.annotations ?? {}) },
      ownerReferences: [ownerReference(input)],
    },
    spec: { ...spec, restartPolicy: 'Never' },
  };
}

function workerContainer(input: RunPodInput, args: string[], extraEnv: V1EnvVar[], deadline: number, mount: boolean): V1Container {
  return {
    name: WORKER_CONTAINER,
    image: input.workerImage,
    command: ['silo'],
    args,
    env: [
      ...input.storeEnv,
      ...encodeWorkerEnv({
        dataKey: input.dataKey,
        metadataKey: metadataKeyFor(input.dataKey),
        deadlineSeconds: deadline,
        namespace: input.namespace,
        podName: true,
      }),
      ...extraEnv,
    ],
    // The controller reads the worker's JSON result line from here (never the payload).
    terminationMessagePath: TERMINATION_LOG,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ...(mount ? { volumeMounts: [{ name: SHARED_VOLUME, mountPath: SHARED_DIR }] } : {}),
  };
}

function prepareContainer(input: RunPodInput): V1Container {
  return {
    name: PREPARE_CONTAINER,
    image: input.workerImage,
    // The pipe must exist before either side opens it; 0666 because the user's container may run as any uid.
    command: [
      'sh',
      '-c',
      `rm -f ${DATA_PIPE} ${STATUS_FILE} ${STATUS_FILE}.tmp && mkfifo -m 0666 ${DATA_PIPE} && chmod 0777 ${SHARED_DIR}`,
    ],
    volumeMounts: [{ name: SHARED_VOLUME, mountPath: SHARED_DIR }],
  };
}

function streamPod(input: RunPodInput, role: 'backup' | 'restore', command: RunCommand, worker: V1Container): V1Pod {
  const { metadata, spec } = basePod(input, role);
  const wrapper = role === 'backup' ? BACKUP_WRAPPER : RESTORE_WRAPPER;
  const volumes: V1Volume[] = [...(spec.volumes ?? []).filter((v) => v.name !== SHARED_VOLUME), { name: SHARED_VOLUME, emptyDir: {} }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      ...spec,
      volumes,
      activeDeadlineSeconds: deadlineOf(command) + POD_DEADLINE_SLACK_SECONDS,
      initContainers: [...(spec.initContainers ?? []), prepareContainer(input)],
      containers: [
        ...spec.containers.map((c) => (c.name === command.container ? userContainer(c, command, wrapper, SHARED_DIR) : c)),
        worker,
      ],
    },
  };
}

/** The backup Pod: user command → pipe → `silo backup fifo` → compression → age → store. */
export function buildBackupPod(input: RunPodInput): V1Pod {
  const compression = input.spec.compression;
  const recipients = input.spec.encryption?.age.recipients ?? [];
  const worker = workerContainer(
    input,
    ['backup', 'fifo', '--data', DATA_PIPE, '--status', STATUS_FILE],
    encodeWorkerEnv({
      backupId: input.backupId,
      backupName: input.runName,
      compression: { algorithm: compression?.algorithm ?? 'zstd', level: compression?.level },
      ageRecipients: recipients,
    }),
    deadlineOf(input.spec.backup),
    true,
  );
  return streamPod(input, 'backup', input.spec.backup, worker);
}

/** The restore Pod: store → verify → age → decompress → `silo restore command` → pipe → user's restore command stdin. */
export function buildRestorePod(input: RunPodInput): V1Pod {
  const restore = input.spec.restore;
  if (!restore) throw new Error('buildRestorePod needs spec.restore');
  const identity = input.spec.encryption?.age.identitySecretRef;
  const identityEnv = encodeWorkerEnv({ ageIdentity: identity ? { secretKeyRef: { name: identity.name, key: identity.key } } : undefined });
  const worker = workerContainer(input, ['restore', 'command', '--', 'sh', '-c', RESTORE_FEEDER], identityEnv, deadlineOf(restore), true);
  return streamPod(input, 'restore', restore, worker);
}

/** retainPolicy: Delete — a short-lived Pod that deletes the data and metadata objects with the storage's credentials. */
export function buildCleanupPod(input: RunPodInput): V1Pod {
  const { metadata } = basePod(input, 'cleanup');
  const template = input.spec.template as { spec?: V1PodSpec };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: 300,
      // Scheduling hints of the run's template apply; its containers do not.
      ...(template.spec?.schedulerName ? { schedulerName: template.spec.schedulerName } : {}),
      ...(template.spec?.nodeSelector ? { nodeSelector: template.spec.nodeSelector } : {}),
      ...(template.spec?.tolerations ? { tolerations: template.spec.tolerations } : {}),
      ...(template.spec?.imagePullSecrets ? { imagePullSecrets: template.spec.imagePullSecrets } : {}),
      ...(template.spec?.serviceAccountName ? { serviceAccountName: template.spec.serviceAccountName } : {}),
      containers: [workerContainer(input, ['delete', 'object'], [], 240, false)],
    },
  };
}
