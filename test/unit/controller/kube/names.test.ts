import { expect } from 'chai';
import { boundedName, fitName, labelValue, shortHash } from '../../../../runtime/controller/kube/names.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('controller kit: bounded names', () => {
  it('boundedName keeps short names and cuts long ones with a hash of the whole base', () => {
    expect(boundedName('run', 'backup')).to.equal('run-backup');
    const long = boundedName('x'.repeat(80), 'backup');
    expect(long)
      .to.have.length.at.most(63)
      .and.match(DNS_LABEL)
      .and.match(/-backup$/);
    expect(long).to.not.equal(boundedName(`${'x'.repeat(79)}y`, 'backup'));
    expect(boundedName('y'.repeat(300), 'storage-credentials', 253)).to.have.length.at.most(253);
  });

  it('labelValue fits 63 characters', () => {
    expect(labelValue('a'.repeat(100))).to.have.length.at.most(63);
    expect(labelValue('short')).to.equal('short');
  });

  it('fitName rewrites dots and keeps "a.b" and "a-b" apart', () => {
    expect(fitName('a-b', 63)).to.equal('a-b');
    expect(fitName('a.b', 63)).to.match(DNS_LABEL).and.not.equal('a-b');
    expect(fitName('z'.repeat(70), 63))
      .to.have.length.at.most(63)
      .and.match(DNS_LABEL);
    expect(shortHash('x')).to.have.length(8);
  });
});
