import { expect } from 'chai';
import { validateResource } from '../../../src/validation/validator.js';
import {
  BAD_INPUTS,
  VALID_BACKUP,
  VALID_CLUSTER,
  VALID_RUN,
  VALID_SCHEDULE,
  VALID_SCHEDULED_BACKUP,
  VALID_STORAGE,
} from '../../support/bad-inputs.js';

describe('bad inputs are rejected with a message naming the field and the fix', () => {
  it('the table has at least 25 cases', () => expect(BAD_INPUTS.length).to.be.at.least(25));

  for (const [name, base] of Object.entries({
    VALID_BACKUP,
    VALID_CLUSTER,
    VALID_RUN,
    VALID_SCHEDULE,
    VALID_SCHEDULED_BACKUP,
    VALID_STORAGE,
  })) {
    it(`the base object ${name} is itself valid`, () => {
      expect(validateResource(base.kind as never, base).issues).to.deep.equal([]);
    });
  }

  for (const input of BAD_INPUTS) {
    it(`${input.kind}: ${input.name}`, () => {
      const messages = validateResource(input.kind, input.object).issues.map((issue) => issue.message);
      expect(messages).to.include(input.message);
    });
  }
});
