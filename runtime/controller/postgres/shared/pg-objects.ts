/** The PGCluster and PGBackup objects as the reconcilers read them, and the labels they put on what they create. */
import type { PGBackupResource, PGClusterResource, PGBackRestRepo, PGRestoreResource } from '../../../../src/api/postgres.silo.io/types.js';
import type { KubeObject, OperatorSettings } from '../../reconciler.js';
import { siloImages } from '../../../../src/install/images.js';
import { MANAGED_BY } from '../../kube/names.js';

type Meta = {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
};

export type PGClusterObject = PGClusterResource & KubeObject & { metadata: Meta };
export type PGBackupObject = PGBackupResource & KubeObject & { metadata: Meta };
export type PGRestoreObject = PGRestoreResource & KubeObject & { metadata: Meta };

export const PG_LABELS = {
  cluster: 'postgres.silo.io/cluster',
  role: 'postgres.silo.io/role',
  backup: 'postgres.silo.io/backup',
  /** "true" on every instance Pod (primary and replicas): the `<cluster>-r` Service selects it. */
  instance: 'postgres.silo.io/instance',
  /** "true" on an instance that serves: the primary when Ready, a replica streaming with a small lag (`<cluster>-ro`). */
  serving: 'postgres.silo.io/serving',
  /** "true" on a primary built to run an in-place restore: the PGRestore reconciler watches these Pods. */
  inPlaceRestore: 'postgres.silo.io/in-place-restore',
} as const;

/** On a primary built to run an in-place restore: the PGRestore it runs (an annotation: names may be longer than a label value). */
export const PG_RESTORE_POD_ANNOTATION = 'postgres.silo.io/pgrestore';

/** On a backup Job's Pod: the PGBackup it works for (an annotation: names may be longer than a label value). */
export const PG_BACKUP_POD_ANNOTATION = 'postgres.silo.io/pgbackup';

export const podLabels = (cluster: string, role: 'primary' | 'replica' | 'repo-host' | 'backup'): Record<string, string> => ({
  ...MANAGED_BY,
  [PG_LABELS.cluster]: cluster,
  [PG_LABELS.role]: role,
  ...(role === 'primary' || role === 'replica' ? { [PG_LABELS.instance]: 'true' } : {}),
});

/**
 * The image of a PGCluster's Pods and backup Jobs: the cluster's spec.image, else the operator's setting
 * (SILO_PG_INSTANCE_IMAGE, which the install bundle sets from its registry and version), else the default name
 * for this version (src/install/images.ts; images/Containerfile's `postgres-instance`: PostgreSQL 15, pgBackRest, Silo).
 */
export const DEFAULT_PG_IMAGE = siloImages().pgInstance;
export const pgImage = (spec: { image?: string }, settings: OperatorSettings): string =>
  spec.image ?? settings.pgInstanceImage ?? DEFAULT_PG_IMAGE;

export const repoIndex = (repo: Pick<PGBackRestRepo, 'name'>): number => Number(repo.name.slice(4));

/** The repository's path: the user's, or `/silo/<namespace>/<cluster>`, unique per namespace and cluster. */
export const defaultRepoPath = (namespace: string, cluster: string): string => `/silo/${namespace}/${cluster}`;

export const repoType = (repo: PGBackRestRepo): 's3' | 'gcs' | 'azure' | 'posix' =>
  repo.s3 ? 's3' : repo.gcs ? 'gcs' : repo.azure ? 'azure' : 'posix';
