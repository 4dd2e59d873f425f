/**
 * Seeds 002/004 end to end: BackupStorage → MinIO; a BackupSchedule whose
 * template runs `mariadb-dump` against a real MariaDB Pod with gzip and age;
 * two runs (manual trigger) complete and the history limit trims the first —
 * its object deleted through retainPolicy: Delete; the kept run restores into a
 * fresh MariaDB through the restore annotation and CHECKSUM TABLE matches.
 * Then real cron slots fire on `* * * * *`.
 */
import { expect } from 'chai';
import { generateAgeKeyPair } from '../../../../runtime/datapath/age/age-keys.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import {
  createMinioStorage,
  createSecret,
  waitForEvent,
  getObjectBytes,
  getRun,
  metricSamples,
  listKeys,
  sql,
  startMariadb,
  useBackupOperator,
  waitFor,
  waitForPhase,
} from './support.js';

describe('backup-operator.io: the seed 002/004 flow on MariaDB, MinIO, gzip and age', function () {
  this.timeout(300_000);
  const fx = useBackupOperator('boseed');
  const keys = generateAgeKeyPair();
  let storage = '';
  let sourceIp = '';
  let targetIp = '';
  const completed: string[] = [];
  const ns = () => fx.kube.namespace;

  const scheduleSpec = (schedule: string, limits: { ok: number; failed: number }) => ({
    schedule,
    concurrencyPolicy: 'Forbid',
    successfulRunsHistoryLimit: limits.ok,
    failedRunsHistoryLimit: limits.failed,
    template: {
      spec: {
        retainPolicy: 'Delete',
        storage: { name: storage, path: `/${fx.prefix}/mysql-{{ now | date "2006.01.02-15:04:05" }}.sql` },
        backup: {
          deadlineSeconds: 120,
          container: 'mysql',
          command: ['/bin/sh', '-c'],
          args: ['mariadb-dump -h "${HOSTNAME}" -u "${USERNAME}" "${DATABASE}"'],
        },
        restore: {
          deadlineSeconds: 120,
          container: 'mysql',
          command: ['/bin/sh', '-c'],
          args: ['mariadb -h "${RESTORE_HOST}" -u "${USERNAME}" "${DATABASE}"'],
        },
        compression: { algorithm: 'gzip' },
        encryption: { age: { recipients: [keys.recipient], identitySecretRef: { name: 'age-identity', key: 'identity' } } },
        template: {
          spec: {
            schedulerName: fx.kube.scheduler,
            restartPolicy: 'Never',
            containers: [
              {
                name: 'mysql',
                image: 'mariadb:10.11',
                command: ['sleep', '1d'],
                env: [
                  { name: 'HOSTNAME', value: sourceIp },
                  { name: 'RESTORE_HOST', value: targetIp },
                  { name: 'DATABASE', value: 'shop' },
                  { name: 'USERNAME', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'username' } } },
                ],
              },
            ],
          },
        },
      },
    },
  });

  const trigger = async (schedule: string, value: string) =>
    fx.objects.patch(
      KINDS.BackupSchedule,
      { namespace: ns(), name: schedule },
      { metadata: { annotations: { 'backup-operator.io/trigger': value } } },
    );

  const runsOf = async (schedule: string) =>
    (await fx.objects.list(KINDS.BackupRun, ns(), `backup-operator.io/schedule=${schedule}`)).map((r) => r.metadata!.name!).sort();

  before(async function () {
    this.timeout(240_000);
    await createSecret(fx, 'minio-credentials', { accessKeyId: fx.minio.accessKey, secretAccessKey: fx.minio.secretKey });
    await createSecret(fx, 'mysql-credentials', { username: 'root' });
    await createSecret(fx, 'age-identity', { identity: keys.identity });
    storage = await createMinioStorage(fx, 'minio', 'minio-credentials');
    [sourceIp, targetIp] = await Promise.all([startMariadb(fx, 'source-db', 'shop'), startMariadb(fx, 'target-db', 'shop')]);
    sql(sourceIp, 'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64), price DECIMAL(10,2)) ENGINE=InnoDB', 'shop');
    const values = Array.from({ length: 200 }, (_, i) => `(${i}, 'item-${i}', ${(i * 1.25).toFixed(2)})`).join(',');
    sql(sourceIp, `INSERT INTO items VALUES ${values}`, 'shop');
  });

  it('the storage is Ready against MinIO', async () => {
    await waitFor(
      'storage Ready',
      async () => {
        const s = await fx.objects.get<any>(KINDS.BackupStorage, { name: storage });
        return s?.status?.phase === 'Ready' ? s : undefined;
      },
      60_000,
    );
  });

  it('two triggered runs of the schedule dump MariaDB with gzip and age; the history limit trims the older one and its object', async () => {
    await fx.objects.create(KINDS.BackupSchedule, {
      metadata: { name: 'mysql-daily', namespace: ns() },
      spec: scheduleSpec('0 0 1 1 *', { ok: 1, failed: 1 }),
    });
    for (const value of ['first', 'second']) {
      await trigger('mysql-daily', value);
      const name = await waitFor(
        `a run for trigger ${value}`,
        async () => (await runsOf('mysql-daily')).find((n) => n.includes('-manual-') && !completed.includes(n)),
        30_000,
      );
      const run = await waitForPhase(fx, name, ['Completed', 'Failed'], 180_000);
      expect(run.status.phase, JSON.stringify(run.status)).to.equal('Completed');
      completed.push(name);
      expect(run.status.path).to.match(new RegExp(`^/${fx.prefix}/mysql-\\d{4}\\.\\d{2}\\.\\d{2}-\\d{2}:\\d{2}:\\d{2}\\.sql$`));
      const cond = (t: string) => run.status.conditions.find((c: any) => c.type === t);
      expect(cond('Compressed')).to.include({ status: 'True', reason: 'Gzip' });
      expect(cond('Encrypted')).to.include({ status: 'True', reason: 'Age' });
      expect(cond('Restorable')).to.include({ status: 'True', reason: 'Restorable' });
      const stored = await getObjectBytes(fx, run.status.path.slice(1));
      expect(stored.subarray(0, 21).toString()).to.equal('age-encryption.org/v1');
      expect(stored.includes(Buffer.from('item-199'))).to.equal(false);
      expect(run.status.sizeInBytes).to.equal(stored.length);
      expect(run.metadata!.finalizers).to.include('backup-operator.io/delete-remote-object');
      // The trigger annotation is consumed.
      const schedule = await fx.objects.get<any>(KINDS.BackupSchedule, { namespace: ns(), name: 'mysql-daily' });
      expect(schedule.metadata.annotations?.['backup-operator.io/trigger']).to.equal(undefined);
      if (value === 'first') await new Promise((r) => setTimeout(r, 1100)); // distinct second in the path
    }
    const [first, second] = completed;
    const firstPath = (await getRun(fx, first))?.status?.path ?? '';
    await waitFor('history limit 1 to delete the first run', async () => (await runsOf('mysql-daily')).join() === second, 60_000);
    // retainPolicy: Delete removed the first run's object and metadata through a cleanup Pod.
    const firstKey = firstPath.slice(1) || `${fx.prefix}/never`;
    await waitFor("the first run's objects deleted", async () => (await listKeys(fx, firstKey)).length === 0, 60_000);
    const secondRun = await getRun(fx, second);
    const secondKey = secondRun!.status.path.slice(1);
    expect(await listKeys(fx, secondKey)).to.deep.equal([secondKey, `${secondKey}.metadata.json`]);
    const schedule = await fx.objects.get<any>(KINDS.BackupSchedule, { namespace: ns(), name: 'mysql-daily' });
    expect(schedule.status.lastSuccessfulTime).to.be.a('string');
    expect(schedule.status.nextScheduleTime).to.match(/-01-01T00:00:00/);
    expect(schedule.status.conditions.find((c: any) => c.type === 'Scheduled')).to.include({ status: 'True' });
    await waitForEvent(fx, 'mysql-daily', 'RunCreated');
    // observeBackup on terminal phases: size and last success per storage and schedule.
    const labels = { kind: 'BackupRun', namespace: ns(), cluster: storage, schedule: 'mysql-daily' };
    expect(await metricSamples(fx, 'silo_backup_size_bytes', labels)).to.deep.equal([secondRun!.status.sizeInBytes]);
    expect((await metricSamples(fx, 'silo_backup_last_success_timestamp_seconds', labels))[0]).to.be.greaterThan(Date.now() / 1000 - 600);
  });

  it('the restore annotation pipes the kept backup into a fresh MariaDB, and CHECKSUM TABLE matches', async () => {
    const name = completed[1];
    expect(sql(targetIp, "SHOW TABLES LIKE 'items'", 'shop')).to.equal('');
    await fx.objects.patch(
      KINDS.BackupRun,
      { namespace: ns(), name },
      { metadata: { annotations: { 'backup-operator.io/restore': 'true' } } },
    );
    const run = await waitForPhase(fx, name, ['Restored', 'RestoreFailed'], 180_000);
    expect(run.status.phase, JSON.stringify(run.status)).to.equal('Restored');
    const checksum = (ip: string) => sql(ip, 'CHECKSUM TABLE items', 'shop').split('\t')[1];
    expect(checksum(targetIp)).to.equal(checksum(sourceIp));
    expect(sql(targetIp, 'SELECT COUNT(*) FROM items', 'shop')).to.equal('200');
    await waitForEvent(fx, name, 'RestoreStarted');
    await waitForEvent(fx, name, 'Restored');
  });

  it('real cron slots fire: `* * * * *` creates a run at the next minute, named after the slot', async () => {
    await fx.objects.create(KINDS.BackupSchedule, {
      metadata: { name: 'every-minute', namespace: ns() },
      spec: scheduleSpec('* * * * *', { ok: 1, failed: 1 }),
    });
    const name = await waitFor('a scheduled run', async () => (await runsOf('every-minute'))[0], 75_000);
    const slotMinutes = Number(name.split('-').pop());
    const run = await getRun(fx, name);
    expect(new Date(run!.metadata!.annotations!['backup-operator.io/scheduled-at']).getTime()).to.equal(slotMinutes * 60_000);
    const done = await waitForPhase(fx, name, ['Completed', 'Failed'], 120_000);
    expect(done.status.phase, JSON.stringify(done.status)).to.equal('Completed');
    await fx.objects.patch(KINDS.BackupSchedule, { namespace: ns(), name: 'every-minute' }, { spec: { suspend: true } });
    const suspended = await waitFor(
      'Suspended condition',
      async () => {
        const s = await fx.objects.get<any>(KINDS.BackupSchedule, { namespace: ns(), name: 'every-minute' });
        return s?.status?.conditions?.find((c: any) => c.type === 'Scheduled' && c.reason === 'Suspended') ? s : undefined;
      },
      90_000,
    );
    expect(suspended.status.lastScheduleTime).to.be.a('string');
  });
});
