import { loadInlinedSchema, type SchemaNode } from './schema-files.js';

/** CRD facts recorded beside each kind's schema (`x-silo-crd`). */
export interface CrdFacts {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames?: string[];
  categories?: string[];
  printerColumns?: Array<{ name: string; type: string; jsonPath: string; description?: string }>;
}

/** Every kind Silo serves, by the schema file that defines it. */
export const KIND_SCHEMA_FILES = {
  BackupStorage: 'backup-operator.io/backup-storage.schema.yaml',
  BackupRun: 'backup-operator.io/backup-run.schema.yaml',
  BackupSchedule: 'backup-operator.io/backup-schedule.schema.yaml',
  Cluster: 'mysql.cloudnative-mysql.io/cluster.schema.yaml',
  Backup: 'mysql.cloudnative-mysql.io/backup.schema.yaml',
  ScheduledBackup: 'mysql.cloudnative-mysql.io/scheduled-backup.schema.yaml',
} as const;

export type SiloKind = keyof typeof KIND_SCHEMA_FILES;
export const SILO_KINDS = Object.keys(KIND_SCHEMA_FILES) as SiloKind[];

/** The metadata.json document written last by every completed backup. */
export const BACKUP_METADATA_SCHEMA_FILE = 'metadata/backup-metadata.schema.yaml';

const cache = new Map<string, SchemaNode>();

export function kindSchema(kind: SiloKind): SchemaNode {
  const file = KIND_SCHEMA_FILES[kind];
  if (!cache.has(file)) cache.set(file, loadInlinedSchema(file));
  return cache.get(file)!;
}

export function crdFacts(kind: SiloKind): CrdFacts {
  return kindSchema(kind)['x-silo-crd'] as CrdFacts;
}

export function apiVersionOf(kind: SiloKind): string {
  const facts = crdFacts(kind);
  return `${facts.group}/${facts.version}`;
}
