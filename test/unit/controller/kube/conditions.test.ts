import { expect } from 'chai';
import { findCondition, isConditionTrue, nextCondition, setCondition } from '../../../../runtime/controller/kube/conditions.js';

describe('controller kit: conditions', () => {
  const t1 = new Date('2026-12-04T00:00:00Z');
  const t2 = new Date('2026-12-04T01:00:00Z');

  it('set keeps the other types in order and writes observedGeneration only when given', () => {
    const list = setCondition(
      setCondition([], { type: 'A', status: 'True', reason: 'a', message: '' }, t1),
      { type: 'B', status: 'False', reason: 'b', message: '' },
      t1,
      4,
    );
    expect(list.map((c) => c.type)).to.deep.equal(['A', 'B']);
    expect(list[0]).to.not.have.property('observedGeneration');
    expect(list[1]).to.include({ observedGeneration: 4 });
    expect(setCondition(list, { type: 'A', status: 'False', reason: 'a2', message: '' }, t2).map((c) => c.type)).to.deep.equal(['A', 'B']);
  });

  it('statusOrReason moves the transition time on a new reason, status alone does not', () => {
    const first = nextCondition(undefined, { type: 'Ready', status: 'False', reason: 'X', message: '' }, t1);
    expect(nextCondition(first, { type: 'Ready', status: 'False', reason: 'Y', message: '' }, t2).lastTransitionTime).to.equal(
      t1.toISOString(),
    );
    expect(
      nextCondition(first, { type: 'Ready', status: 'False', reason: 'Y', message: '' }, t2, { transitionOn: 'statusOrReason' })
        .lastTransitionTime,
    ).to.equal(t2.toISOString());
    expect(
      nextCondition(first, { type: 'Ready', status: 'False', reason: 'X', message: 'new' }, t2, { transitionOn: 'statusOrReason' })
        .lastTransitionTime,
    ).to.equal(t1.toISOString());
  });

  it('find and ready', () => {
    const list = setCondition([], { type: 'Ready', status: 'True', reason: 'Ready', message: '' }, t1);
    expect(findCondition(list, 'Ready')?.reason).to.equal('Ready');
    expect(findCondition(list, 'Other')).to.equal(undefined);
    expect(isConditionTrue(list)).to.equal(true);
    expect(isConditionTrue(list, 'Other')).to.equal(false);
    expect(isConditionTrue(undefined)).to.equal(false);
  });
});
