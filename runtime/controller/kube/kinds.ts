/** The kinds the controller reads and writes, as REST coordinates. */
import { SILO_KIND_TABLE, type SiloKind } from '../../../src/api/kinds.js';
import type { KindRef } from '../reconciler.js';

/** Silo's own kinds, every row of the table that `npm run gen` writes from the schemas (src/api/kinds.ts). */
const SILO = Object.fromEntries(
  Object.values(SILO_KIND_TABLE).map(({ group, version, plural, kind, namespaced }): [SiloKind, KindRef] => [
    kind,
    { group, version, plural, kind, namespaced },
  ]),
) as { readonly [K in SiloKind]: KindRef };

export const KINDS = {
  ...SILO,
  Job: { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true },
  Pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  Secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  Lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
} as const satisfies Record<string, KindRef>;

export const apiVersionOfKind = (kind: KindRef): string => (kind.group ? `${kind.group}/${kind.version}` : kind.version);
