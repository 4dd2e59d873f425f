import { expect } from 'chai';
import { validateResource } from '../../../src/validation/validator.js';
import { VALID_SCHEDULE, VALID_SCHEDULED_BACKUP } from '../../support/bad-inputs.js';

const withSchedule = (base: any, schedule: string) => ({ ...base, spec: { ...base.spec, schedule } });
const ok = (base: any, schedule: string) => validateResource(base.kind, withSchedule(base, schedule)).issues.length === 0;

describe('cron rules (evaluated through the same CEL the API server runs)', () => {
  for (const schedule of ['0 0 * * *', '*/15 9-17 * * mon-fri', '0 3 1,15 * *', '30 2 * JAN,jul 0', '@daily', '0 0 ? * 7']) {
    it(`BackupSchedule accepts "${schedule}"`, () => expect(ok(VALID_SCHEDULE, schedule)).to.equal(true));
  }
  for (const schedule of [
    '0 0 * *',
    '60 * * * *',
    '0 24 * * *',
    '0 0 32 * *',
    '0 0 * 13 *',
    '0 0 * * 8',
    '*/0 * * * *',
    'every day',
    '0 0 0 * * *',
    '',
  ]) {
    it(`BackupSchedule rejects "${schedule}"`, () => expect(ok(VALID_SCHEDULE, schedule)).to.equal(false));
  }
  for (const schedule of ['*/20 * * * * *', '0 0 0 * * *', '0 30 2 * * sun', '@hourly']) {
    it(`ScheduledBackup accepts "${schedule}"`, () => expect(ok(VALID_SCHEDULED_BACKUP, schedule)).to.equal(true));
  }
  for (const schedule of ['0 0 * * *', '60 0 0 * * *', '0 0 0 * * * *']) {
    it(`ScheduledBackup rejects "${schedule}"`, () => expect(ok(VALID_SCHEDULED_BACKUP, schedule)).to.equal(false));
  }
});
