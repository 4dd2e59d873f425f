// Silo's construct library: L2 constructs for every kind, and the install bundle.
export * from './constructs/backup-storage.js';
export * from './constructs/backup-run.js';
export * from './constructs/backup-schedule.js';
export * from './constructs/cluster.js';
export * from './constructs/backup.js';
export * from './constructs/scheduled-backup.js';
export { SiloResource, type SiloResourceOptions } from './constructs/silo-resource.js';
export * from './install/operator-install.js';
export * from './install/images.js';
export * from './install/operator-install-chart.js';
export * from './install/prometheus-rule.js';
export { OPERATOR_CLUSTER_RULES, LEADER_ELECTION_RULES, type PolicyRule } from './install/rbac-rules.js';
export { SiloValidationError, validateResource, type ValidationIssue } from './validation/validator.js';
export { validateBackupMetadata } from './validation/backup-metadata-validation.js';
export type * from './api/backup-operator.io/types.js';
export type * from './api/common/types.js';
export type * from './api/metadata/types.js';
export type * from './api/mysql.cloudnative-mysql.io/types.js';
