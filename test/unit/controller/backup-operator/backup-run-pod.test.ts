import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildBackupPod,
  buildCleanupPod,
  buildRestorePod,
  objectKeyFromPath,
  podNameFor,
  WORKER_CONTAINER,
  type RunPodInput,
} from '../../../../runtime/controller/backup-operator/backup-run/backup-run-pod.js';
import type { BackupRunSpec } from '../../../../src/api/backup-operator.io/types.js';
import { useTempDirs } from '../../../support/temp-dirs.js';

const spec: BackupRunSpec = {
  storage: { name: 'minio', path: '/backups/mysql-{{ now | date "2006.01.02-15:04:05" }}.sql' },
  backup: { container: 'mysql', command: ['/bin/sh', '-c'], args: ['mysqldump -h "${HOSTNAME}" db'], deadlineSeconds: 300 },
  restore: { container: 'mysql', command: ['/bin/sh', '-c'], args: ['mysql db'], deadlineSeconds: 200 },
  compression: { algorithm: 'gzip', level: 3 },
  encryption: { age: { recipients: ['age1aaa', 'age1bbb'], identitySecretRef: { name: 'age', key: 'identity' } } },
  template: {
    spec: {
      restartPolicy: 'Always',
      containers: [
        { name: 'mysql', image: 'mysql:8.3.0', command: ['sleep', '1d'], env: [{ name: 'HOSTNAME', value: 'db' }] },
        { name: 'side', image: 'busybox' },
      ],
    },
  },
};

const input: RunPodInput = {
  runName: 'mysql-daily-29400000',
  namespace: 'apps',
  runUid: 'uid-1',
  scheduleName: 'mysql-daily',
  spec,
  workerImage: 'ghcr.io/silo-operator/silo:0.1.0',
  storeEnv: [
    { name: 'SILO_STORE_TYPE', value: 's3' },
    { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'secretAccessKey' } } },
  ],
  dataKey: 'backups/mysql-2026.11.22-05:21:21.sql',
  backupId: '20261122T052121Z',
};

const envOf = (c: { env?: Array<{ name: string; value?: string }> }) =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? 'from-ref']));

describe('BackupRun Pod shape (ADR 0210)', () => {
  const tempDir = useTempDirs();
  it('backup: the user container writes the pipe, the worker reads it; credentials only in the worker', () => {
    const pod = buildBackupPod(input);
    expect(pod.metadata!.name).to.equal('mysql-daily-29400000-backup');
    expect(pod.metadata!.labels).to.include({
      'backup-operator.io/run': 'mysql-daily-29400000',
      'backup-operator.io/schedule': 'mysql-daily',
      'app.kubernetes.io/managed-by': 'silo',
      'backup-operator.io/role': 'backup',
    });
    expect(pod.metadata!.ownerReferences![0]).to.include({ kind: 'BackupRun', uid: 'uid-1', controller: true });
    expect(pod.spec!.restartPolicy).to.equal('Never');
    expect(pod.spec!.activeDeadlineSeconds).to.equal(360);
    expect(pod.spec!.initContainers!.map((c) => c.name)).to.deep.equal(['silo-prepare']);
    expect(pod.spec!.initContainers![0].command!.join(' ')).to.include('mkfifo -m 0666 /silo/data');
    const [user, side, worker] = pod.spec!.containers;
    expect(user.command!.slice(0, 2)).to.deep.equal(['/bin/sh', '-c']);
    expect(user.command!.slice(3)).to.deep.equal(['silo-command', '/bin/sh', '-c', 'mysqldump -h "${HOSTNAME}" db']);
    expect(user.args).to.equal(undefined);
    expect(envOf(user)).to.deep.equal({ HOSTNAME: 'db' });
    expect(side).to.deep.equal({ name: 'side', image: 'busybox' });
    expect(worker.name).to.equal(WORKER_CONTAINER);
    expect([...worker.command!, ...worker.args!]).to.deep.equal([
      'silo',
      'backup',
      'fifo',
      '--data',
      '/silo/data',
      '--status',
      '/silo/status',
    ]);
    expect(envOf(worker)).to.include({
      SILO_STORE_TYPE: 's3',
      SILO_DATA_KEY: input.dataKey,
      SILO_METADATA_KEY: `${input.dataKey}.metadata.json`,
      SILO_COMPRESSION: 'gzip',
      SILO_COMPRESSION_LEVEL: '3',
      SILO_AGE_RECIPIENTS: 'age1aaa,age1bbb',
      SILO_DEADLINE_SECONDS: '300',
      SILO_BACKUP_ID: '20261122T052121Z',
      AWS_SECRET_ACCESS_KEY: 'from-ref',
    });
    // Only the worker sees a secretKeyRef to the storage credentials.
    for (const c of [...pod.spec!.containers, ...pod.spec!.initContainers!].filter((c) => c.name !== WORKER_CONTAINER)) {
      expect(JSON.stringify(c)).to.not.include('creds');
    }
    expect(pod.spec!.volumes).to.deep.equal([{ name: 'silo-stream', emptyDir: {} }]);
    expect(spec.template.spec!.restartPolicy, 'the template is not mutated').to.equal('Always');
  });

  it('the wrapper passes the command through untouched and records its exit status after closing the pipe', () => {
    const dir = tempDir('silo-wrapper-');
    const user = buildBackupPod(input).spec!.containers[0];
    const script = user.command![2].replaceAll('/silo/', `${dir}/`);
    execFileSync('mkfifo', [join(dir, 'data')]);
    // A reader, as the worker would be.
    const reader = execFileSync(
      'sh',
      ['-c', `cat ${dir}/data & sh -c '${script.replaceAll("'", "'\\''")}' silo-command sh -c 'echo "a b"; exit 7' ; echo "exit=$?"; wait`],
      { encoding: 'utf8' },
    );
    expect(reader).to.include('a b');
    expect(reader).to.include('exit=7');
    expect(readFileSync(join(dir, 'status'), 'utf8').trim()).to.equal('7');
  });

  it('restore: the worker feeds the pipe and the user command reads stdin; the identity reaches only the worker', () => {
    const pod = buildRestorePod(input);
    expect(pod.metadata!.name).to.equal('mysql-daily-29400000-restore');
    expect(pod.spec!.activeDeadlineSeconds).to.equal(260);
    const [user, , worker] = pod.spec!.containers;
    expect(user.command![2]).to.match(/^"\$@" < \/silo\/data;/);
    expect(worker.args!.slice(0, 4)).to.deep.equal(['restore', 'command', '--', 'sh']);
    expect(worker.env!.find((e) => e.name === 'SILO_AGE_IDENTITY')!.valueFrom!.secretKeyRef).to.deep.equal({
      name: 'age',
      key: 'identity',
    });
    expect(JSON.stringify(user)).to.not.include('SILO_AGE_IDENTITY');
  });

  it('cleanup: only the worker, with `silo delete object` and the keys', () => {
    const pod = buildCleanupPod(input);
    expect(pod.spec!.containers).to.have.length(1);
    expect(pod.spec!.containers[0].args).to.deep.equal(['delete', 'object']);
    expect(envOf(pod.spec!.containers[0])).to.include({ SILO_DATA_KEY: input.dataKey });
  });

  it('names stay within 63 characters and distinct; keys lose their leading slash', () => {
    const long = 'a'.repeat(70);
    const a = podNameFor(`${long}-1`, 'restore');
    const b = podNameFor(`${long}-2`, 'restore');
    expect(a.length).to.be.at.most(63);
    expect(a).to.not.equal(b);
    expect(a).to.match(/-restore$/);
    expect(objectKeyFromPath('//backups/x.sql')).to.equal('backups/x.sql');
  });
});
