import { expect } from 'chai';
import {
  backupSpecOf,
  childBackupName,
  inheritedAnnotations,
  renderChildBackup,
  scheduleLabelValue,
} from '../../../../../runtime/controller/mysql/scheduled-backup/child-backup.js';
import { fitName } from '../../../../../runtime/controller/kube/names.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const slot = new Date('2026-11-22T05:30:20Z');

describe('ScheduledBackup child Backups', () => {
  it('names a child after the schedule and the slot in UTC', () => {
    expect(childBackupName('nightly', slot)).to.equal('nightly-20261122053020');
  });

  it('keeps every name within 63 characters and a DNS label, and distinct for long names that share a beginning', () => {
    const a = 'a'.repeat(200) + '-one';
    const b = 'a'.repeat(200) + '-two';
    for (const name of [a, b, 'x'.repeat(48), 'x'.repeat(49), 'my.dotted.schedule', 'a-'.repeat(40)]) {
      const child = childBackupName(name, slot);
      expect(child.length, child).to.be.at.most(63);
      expect(child, child).to.match(DNS_LABEL);
      expect(scheduleLabelValue(name).length).to.be.at.most(63);
      expect(scheduleLabelValue(name)).to.match(DNS_LABEL);
    }
    expect(childBackupName(a, slot)).to.not.equal(childBackupName(b, slot));
    expect(childBackupName('x'.repeat(48), slot)).to.equal(`${'x'.repeat(48)}-20261122053020`);
    expect(childBackupName('x'.repeat(49), slot)).to.match(/^x{39}-[0-9a-f]{8}-20261122053020$/);
  });

  it('is deterministic', () => {
    expect(childBackupName('b'.repeat(100), slot)).to.equal(childBackupName('b'.repeat(100), new Date(slot)));
    expect(fitName('short', 63)).to.equal('short');
  });

  it('copies exactly the Backup fields of the spec', () => {
    const spec = backupSpecOf({
      schedule: '0 0 0 * * *',
      immediate: true,
      suspend: false,
      backupOwnerReference: 'self',
      cluster: { name: 'c1' },
      method: 'xtrabackup',
      target: 'primary',
      online: true,
      type: 'incremental',
      deadlineSeconds: 600,
    });
    expect(spec).to.deep.equal({
      cluster: { name: 'c1' },
      method: 'xtrabackup',
      target: 'primary',
      online: true,
      type: 'incremental',
      deadlineSeconds: 600,
    });
  });

  it('labels and owns the child as backupOwnerReference says', () => {
    const owner = { apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1', kind: 'ScheduledBackup', name: 'nightly', uid: 'u-1' };
    const child = renderChildBackup({
      scheduleName: 'nightly',
      namespace: 'ns',
      spec: { schedule: '@daily', cluster: { name: 'c1' } },
      slot,
      owner,
    });
    expect(child.metadata?.labels).to.deep.equal({
      'mysql.cloudnative-mysql.io/scheduled-backup': 'nightly',
      'mysql.cloudnative-mysql.io/cluster': 'c1',
      'app.kubernetes.io/managed-by': 'silo',
    });
    expect(child.metadata?.ownerReferences).to.deep.equal([{ ...owner, controller: true }]);
    const none = renderChildBackup({
      scheduleName: 'nightly',
      namespace: 'ns',
      spec: { schedule: '@daily', cluster: { name: 'c1' } },
      slot,
    });
    expect(none.metadata?.ownerReferences).to.equal(undefined);
  });

  it('passes on only mysql.cloudnative-mysql.io/ annotations', () => {
    expect(
      inheritedAnnotations({
        'mysql.cloudnative-mysql.io/delete-remote-data': 'true',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
      }),
    ).to.deep.equal({ 'mysql.cloudnative-mysql.io/delete-remote-data': 'true' });
  });
});
