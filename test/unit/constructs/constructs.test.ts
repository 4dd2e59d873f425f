import { expect } from 'chai';
import { App, Chart, Testing } from 'cdk8s';
import { FleetSchedulesChart } from '../../../charts/fleet-schedules-chart.js';
import { Backup, BackupRun, BackupSchedule, BackupStorage, Cluster, ScheduledBackup } from '../../../src/index.js';
import { validateResource } from '../../../src/validation/validator.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { VALID_BACKUP, VALID_CLUSTER, VALID_RUN, VALID_SCHEDULE, VALID_SCHEDULED_BACKUP, VALID_STORAGE } from '../../support/bad-inputs.js';

const synthError = (build: (chart: Chart) => void): string => {
  const app = Testing.app();
  build(new Chart(app, 'test'));
  try {
    app.synth();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('synth should have failed');
};

const constructs = [
  ['BackupStorage', BackupStorage, VALID_STORAGE],
  ['BackupRun', BackupRun, VALID_RUN],
  ['BackupSchedule', BackupSchedule, VALID_SCHEDULE],
  ['Cluster', Cluster, VALID_CLUSTER],
  ['Backup', Backup, VALID_BACKUP],
  ['ScheduledBackup', ScheduledBackup, VALID_SCHEDULED_BACKUP],
] as const;

describe('L2 constructs', () => {
  for (const [kind, Construct, valid] of constructs) {
    describe(kind, () => {
      it('emits one object whose spec is exactly the props, named after the construct id', () => {
        const chart = Testing.chart();
        new (Construct as any)(chart, 'my-object', valid.spec);
        const [object] = Testing.synth(chart);
        expect(object.apiVersion).to.equal(valid.apiVersion);
        expect(object.kind).to.equal(kind);
        expect(object.metadata.name).to.equal('my-object');
        expect(object.spec).to.deep.equal(valid.spec);
      });
      it('takes metadata: name, namespace, labels', () => {
        const chart = Testing.chart();
        new (Construct as any)(chart, 'id', { ...valid.spec, metadata: { name: 'explicit', namespace: 'ns', labels: { team: 'db' } } });
        const [object] = Testing.synth(chart);
        expect(object.metadata).to.deep.include({ name: 'explicit', namespace: 'ns', labels: { team: 'db' } });
      });
      it('fails synth with the field path and the fix when a prop is invalid', () => {
        const message = synthError((chart) => new (Construct as any)(chart, 'broken', { ...valid.spec, bogusField: 1 }));
        expect(message).to.include(`${kind} "broken": spec.bogusField is not a known field`);
      });
    });
  }

  it("reports the issue's example message for a bad Backup target", () => {
    const message = synthError((chart) => new Backup(chart, 'nightly', { cluster: { name: 'db' }, target: 'standby' as never }));
    expect(message).to.include('Backup "nightly": spec.target must be one of primary, prefer-standby (got "standby")');
  });

  it('drops props left undefined instead of emitting nulls', () => {
    const chart = Testing.chart();
    new Backup(chart, 'b', { cluster: { name: 'db' }, target: undefined, objectStore: undefined });
    expect(Testing.synth(chart)[0].spec).to.deep.equal({ cluster: { name: 'db' } });
  });

  it('exposes the emitted name', () => {
    const chart = Testing.chart();
    expect(new Backup(chart, 'named', { cluster: { name: 'db' } }).name).to.equal('named');
  });
});

describe('programmatic schedules', () => {
  const tempDir = useTempDirs();
  it('a loop of 100 ScheduledBackups synthesizes 100 valid, uniquely named objects', () => {
    const dbs = Array.from({ length: 100 }, (_, i) => ({ cluster: `db-${i}`, namespace: `team-${i % 7}` }));
    const objects = Testing.synth(new FleetSchedulesChart(Testing.app(), 'fleet', dbs));
    expect(objects).to.have.length(100);
    expect(new Set(objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).size).to.equal(100);
    for (const object of objects) expect(validateResource('ScheduledBackup', object).issues).to.deep.equal([]);
    expect(objects[61].spec.schedule).to.equal('0 1 1 * * *');
  });

  it('a loop that produces one bad schedule fails synth naming that object', () => {
    // synth() fails before writing; App makes its outdir when constructed, so a temp one.
    const app = new App({ outdir: tempDir('silo-constructs-') });
    const chart = new Chart(app, 'fleet');
    for (const [name, schedule] of [
      ['good', '0 0 1 * * *'],
      ['bad', '0 0 1 * *'],
    ]) {
      new ScheduledBackup(chart, name, { schedule, cluster: { name } });
    }
    expect(() => app.synth()).to.throw(/ScheduledBackup "bad": spec.schedule: must be a 6-field cron expression/);
  });
});
