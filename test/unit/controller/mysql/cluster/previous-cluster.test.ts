import { expect } from 'chai';
import { previousOwnerUid, waitingMessage } from '../../../../../runtime/controller/mysql/cluster/previous-cluster.js';

const owned = (name: string, uid: string, kind = 'Cluster', controller = true) => ({
  name: 'db-1',
  ownerReferences: [{ kind, name, uid, controller }],
});

describe('a previous Cluster of the same name', () => {
  it('is the controller owner: a Cluster of this name with another uid', () => {
    expect(previousOwnerUid(owned('db', 'old'), 'db', 'new')).to.equal('old');
    expect(previousOwnerUid(owned('db', 'new'), 'db', 'new'), 'our own').to.equal(undefined);
    expect(previousOwnerUid(owned('other', 'old'), 'db', 'new'), 'another Cluster').to.equal(undefined);
    expect(previousOwnerUid(owned('db', 'old', 'Backup'), 'db', 'new'), 'not a Cluster').to.equal(undefined);
    expect(previousOwnerUid(owned('db', 'old', 'Cluster', false), 'db', 'new'), 'not the controller').to.equal(undefined);
    expect(previousOwnerUid({ name: 'x' }, 'db', 'new'), 'no owner: a user object').to.equal(undefined);
    expect(previousOwnerUid(undefined, 'db', 'new')).to.equal(undefined);
  });

  it('the waiting sentence names what is left (a few), the old uid and how to avoid the wait', () => {
    const left = ['Pod db-1', 'PVC db-1', 'Secret db-ca', 'Secret db-app', 'Service db-rw', 'Job db-1-recovery-1'].map((s) => {
      const [kind, name] = s.split(' ');
      return { kind, name, ownerUid: 'u-1' };
    });
    const message = waitingMessage('db', left);
    expect(message).to.equal(
      'a previous Cluster db (uid u-1) was deleted and its Pod db-1, PVC db-1, Secret db-ca, Secret db-app and 2 more are not removed yet; ' +
        'waiting for the garbage collector to remove them (delete a Cluster with propagationPolicy Foreground to avoid this wait)',
    );
    expect(waitingMessage('db', left.slice(0, 1))).to.match(/its Pod db-1 is not removed yet/);
  });
});
