/**
 * Spec checks the CRD schema already enforces at admission, repeated here
 * because objects written before a schema change, or through a server without
 * the CRD's validation, still reach the reconciler.
 */
import type { BackupResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { REASON, type Failure } from './backup-reasons.js';

export function unsupportedSpec(backup: BackupResource): Failure | undefined {
  const method = backup.spec.method ?? 'xtrabackup';
  if (method !== 'xtrabackup') {
    return {
      reason: REASON.UnsupportedMethod,
      message: `method ${JSON.stringify(method)} is not supported; use method: xtrabackup (XtraBackup, or mariabackup on MariaDB)`,
    };
  }
  if (backup.spec.online === false) {
    return { reason: REASON.UnsupportedMethod, message: 'offline backups (online: false) are not supported; use online: true' };
  }
  return undefined;
}
