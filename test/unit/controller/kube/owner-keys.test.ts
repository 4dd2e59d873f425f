/** The toKeys of child watches: owners (Job → Backup), an annotation or a label naming the parent (a worker Job's Pod). */
import { expect } from 'chai';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { annotatedKeys, labelledKeys, ownerKeysOf } from '../../../../runtime/controller/kube/owner-keys.js';

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

describe('annotatedKeys and labelledKeys', () => {
  const pod = {
    metadata: {
      name: 'nightly-x-abcde',
      namespace: 'shop',
      labels: { 'mysql.cloudnative-mysql.io/cluster': 'db' },
      annotations: { 'mysql.cloudnative-mysql.io/backup-name': 'nightly' },
    },
  };

  it("map a worker Pod to the object its annotation or label names, in the Pod's namespace", () => {
    expect(annotatedKeys('mysql.cloudnative-mysql.io/backup-name')(pod)).to.deep.equal([{ namespace: 'shop', name: 'nightly' }]);
    expect(labelledKeys('mysql.cloudnative-mysql.io/cluster')(pod)).to.deep.equal([{ namespace: 'shop', name: 'db' }]);
  });

  it('give nothing when the Pod does not carry it', () => {
    expect(annotatedKeys('postgres.silo.io/pgbackup')(pod)).to.deep.equal([]);
    expect(labelledKeys('postgres.silo.io/cluster')(pod)).to.deep.equal([]);
  });
});
