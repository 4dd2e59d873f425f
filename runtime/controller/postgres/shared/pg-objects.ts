/** The PGCluster and PGBackup objects as the reconcilers read them, and the labels they put on what they create. */
import type { PGBackupResource, PGClusterResource, PGBackRestRepo } from '../../../../src/api/postgres.silo.io/types.js';
import type { KubeObject } from '../../reconciler.js';
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

export const PG_LABELS = {
  cluster: 'postgres.silo.io/cluster',
  role: 'postgres.silo.io/role',
  backup: 'postgres.silo.io/backup',
  /** "true" on every instance Pod (primary and replicas): the `<cluster>-r` Service selects it. */
  instance: 'postgres.silo.io/instance',
  /** "true" on an instance that serves: the primary when Ready, a replica streaming with a small lag (`<cluster>-ro`). */
  serving: 'postgres.silo.io/serving',
} as const;

export const podLabels = (cluster: string, role: 'primary' | 'replica' | 'repo-host' | 'backup'): Record<string, string> => ({
  ...MANAGED_BY,
  [PG_LABELS.cluster]: cluster,
  [PG_LABELS.role]: role,
  ...(role === 'primary' || role === 'replica' ? { [PG_LABELS.instance]: 'true' } : {}),
});

/** The operator's default image for instances and the repo host: PostgreSQL 15, pgBackRest 2.45 and Silo's CLI. */
export const DEFAULT_PG_IMAGE = 'ghcr.io/silo-operator/silo-postgres-instance:0.1.0';

export const repoIndex = (repo: Pick<PGBackRestRepo, 'name'>): number => Number(repo.name.slice(4));

/** The repository's path: the user's, or `/silo/<namespace>/<cluster>`, unique per namespace and cluster. */
export const defaultRepoPath = (namespace: string, cluster: string): string => `/silo/${namespace}/${cluster}`;

export const repoType = (repo: PGBackRestRepo): 's3' | 'gcs' | 'azure' | 'posix' =>
  repo.s3 ? 's3' : repo.gcs ? 'gcs' : repo.azure ? 'azure' : 'posix';
