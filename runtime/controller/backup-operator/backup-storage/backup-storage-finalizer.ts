/**
 * Deletion protection (the anchor operator's behaviour): a BackupStorage keeps
 * its finalizer while any BackupRun references it, so runs — and a
 * retainPolicy: Delete cleanup — never lose their store from under them.
 */
import type { KubeObject } from '../../reconciler.js';
import type { BackupRunResource } from '../../../../src/api/backup-operator.io/types.js';

/** `namespace/name` of every BackupRun that references `storage`, sorted. */
export function runsUsingStorage(runs: readonly KubeObject[], storage: string): string[] {
  return runs
    .filter((run) => (run as unknown as BackupRunResource).spec?.storage?.name === storage)
    .map((run) => `${run.metadata?.namespace}/${run.metadata?.name}`)
    .sort();
}

/** One sentence naming (up to five of) the runs that hold the storage. */
export function deletionBlockedMessage(storage: string, holders: readonly string[]): string {
  const shown = holders.slice(0, 5).join(', ');
  const more = holders.length > 5 ? ` and ${holders.length - 5} more` : '';
  return `BackupStorage ${storage} is still used by ${holders.length} BackupRun(s): ${shown}${more}; delete those runs first, then the storage is removed.`;
}
