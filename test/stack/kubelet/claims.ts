/**
 * A tiny provisioner: a claim used by a pod on the process kubelet gets a
 * Retain hostPath PersistentVolume pre-bound to it (claimRef with uid), and the
 * real PV controller binds the pair, so PVCs show Bound like on a real cluster.
 * A claim already bound to a hostPath PV (e.g. a static one) uses that path.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { ContainerConfigError } from './env.js';
import { provisionedPath } from './volumes.js';

const statusCode = (err: unknown): number | undefined => (err as { code?: number })?.code;

async function orUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}

/** The host directory of the PV a claim is already bound to; it must be a hostPath volume. */
async function boundHostPath(core: CoreV1Api, volumeName: string, claimName: string): Promise<string> {
  const pv = await orUndefined(() => core.readPersistentVolume({ name: volumeName }));
  if (!pv?.spec?.hostPath?.path) {
    throw new ContainerConfigError(`persistentvolume "${volumeName}" of claim ${claimName} is not a hostPath volume`);
  }
  return pv.spec.hostPath.path;
}

/** The host directory behind a claim, provisioning a PV for it when it has none. */
export async function claimDirectory(
  core: CoreV1Api,
  nodeName: string,
  namespace: string,
  claimName: string,
  pvcRoot: string,
): Promise<string> {
  const pvc = await orUndefined(() => core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName }));
  if (!pvc) throw new ContainerConfigError(`persistentvolumeclaim "${claimName}" not found`);
  if (pvc.spec?.volumeName) return boundHostPath(core, pvc.spec.volumeName, claimName);
  const path = provisionedPath(pvcRoot, namespace, claimName, pvc.metadata!.uid!);
  try {
    await core.createPersistentVolume({
      body: {
        metadata: { name: `pvc-${pvc.metadata!.uid}`, labels: { 'silo.test/process-kubelet': nodeName } },
        spec: {
          capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
          accessModes: pvc.spec?.accessModes?.length ? pvc.spec.accessModes : ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: pvc.spec?.storageClassName ?? '',
          volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
          hostPath: { path, type: 'DirectoryOrCreate' },
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: claimName, uid: pvc.metadata!.uid },
        },
      },
    });
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
  }
  return path;
}
