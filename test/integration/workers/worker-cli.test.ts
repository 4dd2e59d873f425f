// The worker entrypoint as a Job runs it: a real process configured by env,
// against MinIO and MariaDB, with one exit code per failure class.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { partSize } from '../../../runtime/objectstore/part-size.js';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { EXIT } from '../../../runtime/contracts/worker-result.js';
import { MINIO_ACCESS_KEY, MINIO_BUCKET, MINIO_SECRET_KEY, minioEndpoint } from '../../stack/components/minio.js';
import { mariadbInstance, startMariadb, stopMariadb } from '../../stack/components/mariadb.js';
import { checksumTables, seedDataset, type SeedResult } from '../../stack/datasets/mariadb-seed.js';
import { useStack } from '../../stack/mocha.js';
import { lastJson, runSilo as silo } from '../../support/silo-cli.js';
import { removeStorePrefix } from '../../support/store-cleanup.js';
import { minioWorkerEnv, workerProcessEnv } from '../../support/worker-store-env.js';

const stack = useStack('minio', 'mariadb');
const MiB = 1024 * 1024;

describe('worker CLI (real processes, MinIO, MariaDB)', function () {
  this.timeout(180_000);
  let dir: string;
  let seed: SeedResult;
  const keys = generateAgeKeyPair();
  const main = () => mariadbInstance(stack.ctx);
  const storeEnv = () => minioWorkerEnv(stack.ctx);
  // Every key of this run lives under one prefix, removed afterwards (test/support/store-cleanup.ts says why).
  const runPrefix = `cli/${Date.now()}`;
  const backupEnv = (key: string): Record<string, string> => ({
    ...storeEnv(),
    ...workerProcessEnv({
      dataKey: key,
      backupId: '20261122T010203Z',
      compression: { algorithm: 'gzip' },
      ageRecipients: [keys.recipient],
    }),
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silo-cli-'));
    writeFileSync(join(dir, 'identity.txt'), keys.identity + '\n', { mode: 0o600 });
    seed = await seedDataset(main(), { rows: 3000, database: 'silo_cli' });
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await removeStorePrefix(storeEnv(), runPrefix);
  });

  it('backs up mariadb-dump with gzip and age, then restores into a fresh mariadbd with equal checksums', async () => {
    const key = `${runPrefix}/dump.sql.gz.age`;
    const dump = [
      'mariadb-dump',
      '--no-defaults',
      `--socket=${main().socket}`,
      '-uroot',
      '--single-transaction',
      '--databases',
      seed.database,
    ];
    const backup = await silo(['backup', 'command', '--', ...dump], backupEnv(key));
    expect(backup.code, backup.stderr).to.equal(EXIT.ok);
    const result = lastJson(backup.stdout);
    expect(result.outcome).to.equal('completed');
    expect(result.metadata.codec).to.deep.include({ compression: 'gzip', encryption: 'age' });
    expect(backup.stderr, 'the secret key never reaches the logs').to.not.include(MINIO_SECRET_KEY);

    const fresh = mariadbInstance(stack.ctx, 'cli-restore', 19162);
    await startMariadb(stack.ctx, fresh);
    try {
      const restore = await silo(['restore', 'command', '--', 'mariadb', '--no-defaults', `--socket=${fresh.socket}`, '-uroot'], {
        ...storeEnv(),
        SILO_METADATA_KEY: `${key}.metadata.json`,
        SILO_AGE_IDENTITY_FILE: join(dir, 'identity.txt'),
      });
      expect(restore.code, restore.stderr).to.equal(EXIT.ok);
      expect(await checksumTables(fresh, seed)).to.deep.equal(await checksumTables(main(), seed));
    } finally {
      await stopMariadb(fresh);
      rmSync(fresh.dir, { recursive: true, force: true });
    }
  });

  it('a failing dump exits 5 (source failed) and writes no metadata.json', async () => {
    const key = `${runPrefix}/fail.sql`;
    const run = await silo(['backup', 'command', '--', 'sh', '-c', 'echo partial; exit 2'], backupEnv(key));
    expect(run.code).to.equal(EXIT.sourceFailed);
    expect(lastJson(run.stdout)).to.include({ outcome: 'failed', reason: 'sourceFailed' });
    const check = await silo(['restore', 'command', '--', 'true'], { ...storeEnv(), SILO_METADATA_KEY: `${key}.metadata.json` });
    expect(check.code).to.equal(EXIT.notFound);
  });

  it('wrong credentials exit 3 (auth) with a sentence that names the fix and not the secret', async () => {
    const run = await silo(['backup', 'command', '--', 'echo', 'x'], {
      ...backupEnv('cli/auth'),
      AWS_SECRET_ACCESS_KEY: 'wrong-secret-value',
    });
    expect(run.code).to.equal(EXIT.auth);
    expect(lastJson(run.stdout).error).to.match(/check the access key and secret in the credentials Secret/);
    expect(run.stdout + run.stderr).to.not.include('wrong-secret-value');
  });

  it('a missing bucket exits 10 (not found)', async () => {
    const run = await silo(['backup', 'command', '--', 'echo', 'x'], { ...backupEnv('cli/nb'), SILO_S3_BUCKET: 'no-such-bucket-here' });
    expect(run.code).to.equal(EXIT.notFound);
  });

  it('missing configuration exits 2 naming the variable', async () => {
    const run = await silo(['backup', 'command', '--', 'echo', 'x'], { ...backupEnv('cli/cfg'), SILO_STORE_TYPE: '' });
    expect(run.code).to.equal(EXIT.config);
    expect(lastJson(run.stdout).error).to.equal('SILO_STORE_TYPE is not set; set it to s3, gcs, azure or filesystem');
  });

  it("SILO_EXPECTED_BYTES sizes a command backup's multipart parts from the hint (a 200Gi dump gets even 23 MiB parts, not 8 MiB)", async () => {
    const key = `${runPrefix}/hinted.bin`;
    const run = await silo(['backup', 'command', '--', 'head', '-c', String(40 * MiB), '/dev/urandom'], {
      ...backupEnv(key),
      SILO_COMPRESSION: 'none',
      SILO_AGE_RECIPIENTS: '',
      SILO_EXPECTED_BYTES: '200Gi',
    });
    expect(run.code, run.stderr).to.equal(EXIT.ok);
    const e = minioEndpoint(stack.ctx, false);
    const client = new S3Client({
      endpoint: e.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: MINIO_ACCESS_KEY, secretAccessKey: MINIO_SECRET_KEY },
    });
    const firstPart = await client.send(new HeadObjectCommand({ Bucket: MINIO_BUCKET, Key: key, PartNumber: 1 }));
    expect(firstPart.PartsCount).to.equal(2);
    expect(firstPart.ContentLength)
      .to.equal(partSize(1, 200 * 2 ** 30))
      .and.to.equal(23 * MiB);
  });

  it('a malformed SILO_EXPECTED_BYTES exits 2 naming the variable and the accepted form', async () => {
    const run = await silo(['backup', 'command', '--', 'echo', 'x'], { ...backupEnv('cli/hint'), SILO_EXPECTED_BYTES: '200GB' });
    expect(run.code).to.equal(EXIT.config);
    expect(lastJson(run.stdout).error).to.equal(
      'SILO_EXPECTED_BYTES must be a positive size in bytes or a quantity such as 500Gi (got "200GB")',
    );
  });

  it('a silent source past the deadline exits 8 promptly instead of hanging', async () => {
    const run = await silo(['backup', 'command', '--', 'sleep', '60'], {
      ...backupEnv(`${runPrefix}/slow`),
      SILO_DEADLINE_SECONDS: '3',
    });
    expect(run.code).to.equal(EXIT.deadline);
    expect(run.seconds).to.be.lessThan(20);
    expect(lastJson(run.stdout).error).to.match(/^the deadline of 3 s passed before the stream finished; nothing was stored/);
  });

  it("restores 2 GiB of zeros (stored at about 30,000 to 1 by zstd) with the worker's peak RSS far below the data", async () => {
    const key = `${runPrefix}/zeros`;
    const bytes = 2 * 1024 * MiB;
    const backup = await silo(['backup', 'command', '--', 'head', '-c', String(bytes), '/dev/zero'], {
      ...backupEnv(key),
      SILO_COMPRESSION: 'zstd',
    });
    expect(backup.code, backup.stderr).to.equal(EXIT.ok);
    expect(lastJson(backup.stdout).metadata.sizes.storedBytes).to.be.lessThan(MiB);
    // The restore command's parent is the worker: its VmHWM is the worker's peak RSS.
    const report = join(dir, 'zeros-report');
    const restore = await silo(
      ['restore', 'command', '--', 'sh', '-c', `wc -c > ${report} && grep VmHWM /proc/$PPID/status >> ${report}`],
      { ...storeEnv(), SILO_METADATA_KEY: `${key}.metadata.json`, SILO_AGE_IDENTITY_FILE: join(dir, 'identity.txt') },
    );
    expect(restore.code, restore.stderr).to.equal(EXIT.ok);
    const [restored, hwm] = readFileSync(report, 'utf8').trim().split('\n');
    expect(Number(restored)).to.equal(bytes);
    const peakMiB = Number(/(\d+) kB/.exec(hwm)![1]) / 1024;
    expect(peakMiB, 'decompression holds back when the restore command is slower (decision 0018)').to.be.lessThan(400);
  });

  it('the wrong age key exits 12 (decryption) and the restore command never completes', async () => {
    const key = `${runPrefix}/k`;
    expect((await silo(['backup', 'command', '--', 'echo', 'secret data'], backupEnv(key))).code).to.equal(EXIT.ok);
    writeFileSync(join(dir, 'other.txt'), generateAgeKeyPair().identity);
    const marker = join(dir, 'restored');
    const run = await silo(['restore', 'command', '--', 'sh', '-c', `cat > /dev/null && touch ${marker}`], {
      ...storeEnv(),
      SILO_METADATA_KEY: `${key}.metadata.json`,
      SILO_AGE_IDENTITY_FILE: join(dir, 'other.txt'),
    });
    expect(run.code).to.equal(EXIT.decryption);
    expect(() => readFileSync(marker)).to.throw();
  });
});
