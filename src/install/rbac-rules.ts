/**
 * The operator's permissions, as data, so tests can assert them rule by rule.
 * Least privilege: no wildcards; Secrets are never listed or watched, see
 * docs/decisions/0003-secret-get-cluster-wide.md.
 */
export interface PolicyRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}

const SILO_RESOURCES: Record<string, string[]> = {
  'backup-operator.io': ['backupstorages', 'backupschedules', 'backupruns'],
  'mysql.cloudnative-mysql.io': ['clusters', 'backups', 'scheduledbackups'],
  'postgres.silo.io': ['pgclusters', 'pgbackups', 'pgrestores'],
};

const CRUD = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

export const OPERATOR_CLUSTER_RULES: PolicyRule[] = [
  ...Object.entries(SILO_RESOURCES).flatMap(([group, resources]) => [
    { apiGroups: [group], resources, verbs: CRUD },
    { apiGroups: [group], resources: resources.map((r) => `${r}/status`), verbs: ['get', 'update', 'patch'] },
    { apiGroups: [group], resources: resources.map((r) => `${r}/finalizers`), verbs: ['update'] },
  ]),
  // Backup and restore work runs in Jobs (physical) and Pods (BackupRun); the controller never moves payload bytes.
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  // The Cluster reconciler manages instance Pods and their PVCs directly (decision 0261), labels and
  // annotates them (role, serving, replication lag), and reads a recovery Job's progress from its log.
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'create', 'patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  // BackupStorage is cluster-scoped and names a Secret in any namespace; the controller checks it
  // exists, and copies the needed keys into a run's namespace, because a Pod can only mount Secrets
  // of its own namespace (decisions 0003, 0210). `update` renews a Cluster's own PKI Secrets in place
  // (decision 0260). Never list or watch.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update', 'delete'] },
];

/** Namespaced rules for leader election, in the operator's namespace only. */
export const LEADER_ELECTION_RULES: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
