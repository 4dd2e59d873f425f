import { expect } from 'chai';
import {
  BACKUP_RUN_DATA_PHASES,
  BACKUP_RUN_PHASE,
  BACKUP_RUN_TERMINAL_PHASES,
  BACKUP_STORAGE_PHASE,
  hasBackupRunData,
  isBackupRunActive,
  isBackupRunTerminal,
} from '../../../src/api/backup-operator.io/phases.js';
import { BACKUP_PHASE, BACKUP_TERMINAL_PHASES, isBackupTerminal } from '../../../src/api/mysql.cloudnative-mysql.io/phases.js';
import { kindSchema, type SiloKind } from '../../../src/schema/kinds.js';

const phaseEnum = (kind: SiloKind): string[] => kindSchema(kind).properties.status.properties.phase.enum;

describe('phase names and checks (src/api/<group>/phases.ts)', () => {
  it("name every phase the schemas allow, in the schemas' order", () => {
    expect(Object.values(BACKUP_PHASE)).to.deep.equal(phaseEnum('Backup'));
    expect(Object.values(BACKUP_RUN_PHASE)).to.deep.equal(phaseEnum('BackupRun'));
    expect(Object.values(BACKUP_STORAGE_PHASE)).to.deep.equal(phaseEnum('BackupStorage'));
  });

  it('a Backup is terminal once completed or failed', () => {
    expect(BACKUP_TERMINAL_PHASES).to.deep.equal(['completed', 'failed']);
    expect(['pending', 'running', 'completed', 'failed', undefined, 'Completed'].map(isBackupTerminal)).to.deep.equal([
      false,
      false,
      true,
      true,
      false,
      false,
    ]);
  });

  it("a BackupRun's backup has finished from Completed or Failed on, and its data exists from Completed on", () => {
    const phases = [...Object.values(BACKUP_RUN_PHASE), undefined, 'completed'];
    expect(phases.map(isBackupRunTerminal)).to.deep.equal([false, false, true, true, true, true, true, false, false]);
    expect(phases.map(hasBackupRunData)).to.deep.equal([false, false, true, false, true, true, true, false, false]);
    expect(phases.map(isBackupRunActive)).to.deep.equal([true, true, false, false, false, false, false, true, false]);
    expect(BACKUP_RUN_DATA_PHASES.every((phase) => BACKUP_RUN_TERMINAL_PHASES.includes(phase))).to.equal(true);
  });
});
