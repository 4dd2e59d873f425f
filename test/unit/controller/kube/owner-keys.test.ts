/** ownerKeysOf: the toKeys of child watches (Pod → BackupRun, Job → Backup, BackupRun → BackupSchedule). */
import { expect } from 'chai';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { ownerKeysOf } from '../../../../runtime/controller/kube/owner-keys.js';

describe('ownerKeysOf', () => {
  const job = {
    metadata: {
      name: 'b-job',
      namespace: 'shop',
      ownerReferences: [
        { apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1', kind: 'Backup', name: 'nightly', uid: '1' },
        { apiVersion: 'other.example.com/v1', kind: 'Backup', name: 'foreign', uid: '2' },
        { apiVersion: 'backup-operator.io/v1', kind: 'BackupRun', name: 'run', uid: '3' },
      ],
    },
  };

  it("maps a child to its owners of that kind and API group, in the child's namespace", () => {
    expect(ownerKeysOf(KINDS.Backup)(job)).to.deep.equal([{ namespace: 'shop', name: 'nightly' }]);
    expect(ownerKeysOf(KINDS.BackupRun)(job)).to.deep.equal([{ namespace: 'shop', name: 'run' }]);
  });

  it('gives nothing for an object without owners', () => {
    expect(ownerKeysOf(KINDS.BackupSchedule)({ metadata: { name: 'x', namespace: 'shop' } })).to.deep.equal([]);
  });
});
