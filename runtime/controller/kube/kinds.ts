/** The kinds the controller reads and writes, as REST coordinates. */
import { SILO_KIND_TABLE, type SiloKind } from '../../../src/api/kinds.js';
import type { KindRef } from '../reconciler.js';

/** One of Silo's kinds, from the table that `npm run gen` writes from the schemas (src/api/kinds.ts). */
const silo = (kind: SiloKind): KindRef => {
  const { group, version, plural, namespaced } = SILO_KIND_TABLE[kind];
  return { group, version, plural, kind, namespaced };
};

export const KINDS = {
  Cluster: silo('Cluster'),
  Backup: silo('Backup'),
  ScheduledBackup: silo('ScheduledBackup'),
  BackupStorage: silo('BackupStorage'),
  BackupRun: silo('BackupRun'),
  BackupSchedule: silo('BackupSchedule'),
  Job: { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true },
  Pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  Secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  Lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
} as const satisfies Record<string, KindRef>;

export const apiVersionOfKind = (kind: KindRef): string => (kind.group ? `${kind.group}/${kind.version}` : kind.version);
