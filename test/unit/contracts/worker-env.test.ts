import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { ConfigError } from '../../../runtime/contracts/config-error.js';
import { MYSQL_ENGINE } from '../../../runtime/contracts/engines.js';
import {
  decodeBackupEnv,
  decodeDeleteEnv,
  decodeInstanceManagerEnv,
  decodePruneEnv,
  decodeRestoreEnv,
  encodeInstanceManagerEnv,
  encodeStoreEnv,
  encodeWorkerEnv,
  expectedBytesFromEnv,
  toProcessEnv,
  type Env,
  type SecretSource,
  type StoreSpec,
} from '../../../runtime/contracts/worker-env.js';
import type { ObjectStoreConfig } from '../../../runtime/objectstore/store-factory.js';
import { renderBackupJob, CLIENT_TLS_DIR, SERVER_CA_DIR, type BackupPlan } from '../../../runtime/controller/mysql/backup/backup-job.js';
import { renderPruneJob } from '../../../runtime/controller/mysql/retention/prune-job.js';
import {
  buildBackupPod,
  buildCleanupPod,
  buildRestorePod,
  WORKER_CONTAINER,
  type RunPodInput,
} from '../../../runtime/controller/backup-operator/backup-run/backup-run-pod.js';
import { checkCredentialKeys, credentialEnv, storageEnv } from '../../../runtime/controller/backup-operator/shared/storage-credentials.js';
import type { BackupRunSpec, BackupStorageSpec } from '../../../src/api/backup-operator.io/types.js';
import * as fixtures from '../controller/mysql/backup/fixtures.js';

describe('contracts/worker-env', () => {
  describe('expectedBytesFromEnv (SILO_EXPECTED_BYTES)', () => {
    it('is undefined when unset or empty', () => {
      expect(expectedBytesFromEnv({})).to.equal(undefined);
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: ' ' })).to.equal(undefined);
    });

    it('reads bytes and Kubernetes quantities, binary and decimal', () => {
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: '123456789' })).to.equal(123456789);
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: '200Gi' })).to.equal(200 * 2 ** 30);
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: '1.5Ti' })).to.equal(1.5 * 2 ** 40);
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: '500G' })).to.equal(500e9);
    });

    for (const bad of ['200GB', '-5', '0', 'lots', '1e9', '10 Gi']) {
      it(`refuses ${JSON.stringify(bad)} with a ConfigError naming the variable`, () => {
        expect(() => expectedBytesFromEnv({ SILO_EXPECTED_BYTES: bad })).to.throw(
          ConfigError,
          /^SILO_EXPECTED_BYTES must be a positive size in bytes or a quantity such as 500Gi/,
        );
      });
    }
  });
});

/**
 * The round trip: what the controller's builders write into a Job or Pod, resolved as Kubernetes
 * would (secretKeyRef from the Secret, mounted files on disk), the worker's decoder reads back
 * identically, for every store type and every mode.
 */
describe('contracts/worker-env: what the controller writes, the worker reads', () => {
  let root: string;
  const secrets: Record<string, Record<string, string>> = {
    creds: {
      id: 'AKIA-ID',
      secret: 'shh',
      token: 'session',
      accessKeyId: 'AKIA-ID',
      secretAccessKey: 'shh',
      sessionToken: 'session',
      'serviceAccount.json': '{"type":"service_account"}',
      accountKey: 'a2V5',
      connectionString: 'UseDevelopmentStorage=true',
      accountName: 'acct',
    },
    age: { identity: 'AGE-SECRET-KEY-1TEST' },
  };
  const resolveSecret = (ref: { name: string; key: string }) => {
    const v = secrets[ref.name]?.[ref.key];
    if (v === undefined) throw new Error(`no Secret ${ref.name} key ${ref.key}`);
    return v;
  };
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'silo-env-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Mounts every file the env names under `root` (as the kubelet mounts Secret keys) and returns the worker's process env. */
  function asWorkerSees(vars: V1EnvVar[]): Env {
    const env: Env = toProcessEnv(vars, { secret: resolveSecret, field: () => 'pod-1' });
    for (const [name, value] of Object.entries(env)) {
      if (!name.endsWith('_FILE') || !value) continue;
      const path = join(root, value);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `contents of ${value}\n`);
      env[name] = path;
    }
    return env;
  }
  const fileContents = (path: string) => `contents of ${path}\n`;

  // Every store type, with credentials as secretKeyRef and as mounted files.
  const stores: Array<{ name: string; spec: StoreSpec; expected: ObjectStoreConfig }> = [
    {
      name: 's3, secretKeyRef credentials',
      spec: {
        type: 's3',
        bucket: 'b',
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-1',
        forcePathStyle: true,
        insecure: false,
        storageClass: 'STANDARD_IA',
        uploadConcurrency: 3,
        accessKeyId: { secretKeyRef: { name: 'creds', key: 'id' } },
        secretAccessKey: { secretKeyRef: { name: 'creds', key: 'secret' } },
        sessionToken: { secretKeyRef: { name: 'creds', key: 'token' } },
      },
      expected: {
        type: 's3',
        bucket: 'b',
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-1',
        forcePathStyle: true,
        insecure: false,
        ca: undefined,
        accessKeyId: 'AKIA-ID',
        secretAccessKey: 'shh',
        sessionToken: 'session',
        storageClass: 'STANDARD_IA',
        uploadConcurrency: 3,
      },
    },
    {
      name: 's3, *_FILE credentials and a CA file',
      spec: {
        type: 's3',
        bucket: 'b',
        caFile: '/var/run/silo/store-ca/ca.crt',
        accessKeyId: { file: '/var/run/creds/id' },
        secretAccessKey: { file: '/var/run/creds/secret' },
      },
      expected: {
        type: 's3',
        bucket: 'b',
        endpoint: undefined,
        region: undefined,
        forcePathStyle: false,
        insecure: false,
        ca: fileContents('/var/run/silo/store-ca/ca.crt'),
        accessKeyId: 'contents of /var/run/creds/id',
        secretAccessKey: 'contents of /var/run/creds/secret',
        sessionToken: undefined,
        storageClass: undefined,
        uploadConcurrency: undefined,
      },
    },
    {
      name: 'gcs, secretKeyRef credentials',
      spec: {
        type: 'gcs',
        bucket: 'g',
        endpoint: 'http://127.0.0.1:4443',
        project: 'p',
        credentials: { secretKeyRef: { name: 'creds', key: 'serviceAccount.json' } },
      },
      expected: {
        type: 'gcs',
        bucket: 'g',
        apiEndpoint: 'http://127.0.0.1:4443',
        projectId: 'p',
        credentials: '{"type":"service_account"}',
      },
    },
    {
      name: 'gcs, a credentials file',
      spec: { type: 'gcs', bucket: 'g', credentials: { file: '/var/run/gcs/key.json' } },
      expected: {
        type: 'gcs',
        bucket: 'g',
        apiEndpoint: undefined,
        projectId: undefined,
        credentials: 'contents of /var/run/gcs/key.json',
      },
    },
    {
      name: 'azure, connection string from a Secret',
      spec: {
        type: 'azure',
        container: 'c',
        endpoint: 'http://127.0.0.1:10000/acct',
        connectionString: { secretKeyRef: { name: 'creds', key: 'connectionString' } },
      },
      expected: {
        type: 'azure',
        container: 'c',
        endpoint: 'http://127.0.0.1:10000/acct',
        accountName: undefined,
        accountKey: undefined,
        connectionString: 'UseDevelopmentStorage=true',
      },
    },
    {
      name: 'azure, account key file',
      spec: { type: 'azure', container: 'c', account: 'acct', accountKey: { file: '/var/run/azure/key' } },
      expected: {
        type: 'azure',
        container: 'c',
        endpoint: undefined,
        accountName: 'acct',
        accountKey: 'contents of /var/run/azure/key',
        connectionString: undefined,
      },
    },
    {
      name: 'filesystem',
      spec: { type: 'filesystem', root: '/mnt/backups' },
      expected: { type: 'filesystem', root: '/mnt/backups' },
    },
  ];

  const tls = {
    caFile: '/var/run/silo/server-ca/ca.crt',
    certFile: '/var/run/silo/client-tls/tls.crt',
    keyFile: '/var/run/silo/client-tls/tls.key',
    serverName: 'db-instance-manager',
  };

  for (const store of stores) {
    describe(store.name, () => {
      it('command and fifo backup', () => {
        for (const mode of ['command', 'fifo'] as const) {
          const env = asWorkerSees([
            ...encodeStoreEnv(store.spec),
            ...encodeWorkerEnv({
              backupId: '20261122T000000Z',
              backupName: 'run-1',
              namespace: 'apps',
              dataKey: 'p/x.sql',
              deadlineSeconds: 300,
              expectedBytes: '200Gi',
              compression: { algorithm: 'gzip', level: 3 },
              ageRecipients: ['age1aaa', 'age1bbb'],
              podName: true,
            }),
          ]);
          const decoded = decodeBackupEnv(env, mode);
          expect(decoded).to.deep.equal({
            store: store.expected,
            dataKey: 'p/x.sql',
            metadataKey: 'p/x.sql.metadata.json',
            compression: { algorithm: 'gzip', level: 3 },
            recipients: ['age1aaa', 'age1bbb'],
            deadlineSeconds: 300,
            expectedBytes: 200 * 2 ** 30,
            backupId: '20261122T000000Z',
            backupType: 'full',
            parentBackupId: undefined,
            cluster: undefined,
            namespace: 'apps',
            backupName: 'run-1',
            sourceInstance: undefined,
            physical: undefined,
          });
          expect(env.POD_NAME).to.equal('pod-1');
        }
      });

      it('physical backup through the instance manager', () => {
        const env = asWorkerSees([
          ...encodeStoreEnv(store.spec),
          ...encodeWorkerEnv({
            backupId: '20261122T000000Z',
            backupType: 'incremental',
            parentBackupId: '20261121T000000Z',
            incrementalLsn: '12345',
            dataKey: 'p/db/b/20261122T000000Z/backup.xbstream',
            metadataKey: 'p/db/b/20261122T000000Z/metadata.json',
            cluster: 'db',
            namespace: 'ns',
            backupName: 'b',
            sourceInstance: 'db-2',
            deadlineSeconds: 585,
            compressOn: 'worker',
            tls,
            engine: MYSQL_ENGINE.name,
          }),
        ]);
        const decoded = decodeBackupEnv(env, 'physical');
        expect(decoded).to.deep.include({
          store: store.expected,
          dataKey: 'p/db/b/20261122T000000Z/backup.xbstream',
          metadataKey: 'p/db/b/20261122T000000Z/metadata.json',
          backupId: '20261122T000000Z',
          backupType: 'incremental',
          parentBackupId: '20261121T000000Z',
          cluster: 'db',
          namespace: 'ns',
          backupName: 'b',
          sourceInstance: 'db-2',
          deadlineSeconds: 585,
        });
        expect(decoded.physical).to.deep.equal({
          engine: 'mysql',
          incrementalLsn: '12345',
          compressOn: 'worker',
          tls: {
            ca: fileContents(tls.caFile),
            cert: fileContents(tls.certFile),
            key: fileContents(tls.keyFile),
            servername: 'db-instance-manager',
          },
        });
      });

      it('restore (command) and physical restore, with the age identity from a Secret or a file', () => {
        const sources: Array<[SecretSource, string]> = [
          [{ secretKeyRef: { name: 'age', key: 'identity' } }, 'AGE-SECRET-KEY-1TEST'],
          [{ file: '/var/run/age/identity' }, fileContents('/var/run/age/identity').trim()],
        ];
        for (const [ageIdentity, identity] of sources) {
          const command = asWorkerSees([
            ...encodeStoreEnv(store.spec),
            ...encodeWorkerEnv({ metadataKey: 'p/x.sql.metadata.json', deadlineSeconds: 200, ageIdentity }),
          ]);
          expect(decodeRestoreEnv(command, 'command')).to.deep.equal({
            store: store.expected,
            identity,
            deadlineSeconds: 200,
            metadataKey: 'p/x.sql.metadata.json',
          });
          const physical = asWorkerSees([
            ...encodeStoreEnv(store.spec),
            ...encodeWorkerEnv({ metadataKeys: ['a/metadata.json', 'b/metadata.json'], ageIdentity }),
          ]);
          expect(decodeRestoreEnv(physical, 'physical')).to.deep.equal({
            store: store.expected,
            identity,
            deadlineSeconds: undefined,
            engine: 'mysql',
            metadataKeys: ['a/metadata.json', 'b/metadata.json'],
            expectedSha256s: undefined,
            backupId: undefined,
          });
        }
      });

      it("the recovery step: the chain with the sha256 of each link from the Backups' status, and the backup it ends with", () => {
        const sums = ['a'.repeat(64), '0123456789abcdef'.repeat(4)];
        const recovery = asWorkerSees([
          ...encodeStoreEnv(store.spec),
          ...encodeWorkerEnv({
            metadataKeys: ['p/db/full/20261120T000000Z/metadata.json', 'p/db/inc/20261121T000000Z/metadata.json'],
            chainSha256s: sums,
            backupId: '20261121T000000Z',
            ageIdentity: { secretKeyRef: { name: 'age', key: 'identity' } },
            deadlineSeconds: 3600,
          }),
        ]);
        expect(recovery).to.include({ SILO_CHAIN_SHA256S: sums.join(',') });
        expect(decodeRestoreEnv(recovery, 'physical')).to.deep.equal({
          store: store.expected,
          identity: 'AGE-SECRET-KEY-1TEST',
          deadlineSeconds: 3600,
          engine: 'mysql',
          metadataKeys: ['p/db/full/20261120T000000Z/metadata.json', 'p/db/inc/20261121T000000Z/metadata.json'],
          expectedSha256s: sums,
          backupId: '20261121T000000Z',
        });
        expect(() => decodeRestoreEnv({ ...recovery, SILO_CHAIN_SHA256S: sums[0] }, 'physical')).to.throw(
          ConfigError,
          /^SILO_CHAIN_SHA256S names 1 checksums for 2 metadata.json keys/,
        );
        expect(() => decodeRestoreEnv({ ...recovery, SILO_CHAIN_SHA256S: `${sums[0]},${'A'.repeat(64)}` }, 'physical')).to.throw(
          ConfigError,
          /^SILO_CHAIN_SHA256S\[1\] is not a lowercase hex SHA256/,
        );
      });

      it('delete and prune', () => {
        const del = asWorkerSees([
          ...encodeStoreEnv(store.spec),
          ...encodeWorkerEnv({ dataKey: 'p/x.sql', metadataKey: 'p/x.sql.metadata.json' }),
        ]);
        expect(decodeDeleteEnv(del)).to.deep.equal({ store: store.expected, keys: ['p/x.sql', 'p/x.sql.metadata.json'] });
        const prefixes = ['prod/db/b1/20261122T000000Z/', 'prod/db/b2/20261123T000000Z/'];
        const prune = asWorkerSees([...encodeStoreEnv(store.spec), ...encodeWorkerEnv({ prunePrefixes: prefixes })]);
        expect(decodePruneEnv(prune)).to.deep.equal({ prefixes, store: store.expected });
      });
    });
  }

  describe("the controller's builders", () => {
    const s3Expected = {
      type: 's3',
      bucket: 'backups',
      endpoint: 'http://127.0.0.1:19000',
      region: 'us-east-1',
      forcePathStyle: true,
      insecure: false,
      accessKeyId: 'AKIA-ID',
      secretAccessKey: 'shh',
      sessionToken: undefined,
      storageClass: undefined,
      uploadConcurrency: undefined,
    };
    const mysqlStore = {
      ...fixtures.store,
      credentials: { accessKeyId: { name: 'creds', key: 'id' }, secretAccessKey: { name: 'creds', key: 'secret' } },
      endpointCA: { name: 'ca', key: 'ca.crt' },
    };

    it('Backup Job (physical, mysql)', () => {
      const plan: BackupPlan = {
        backupId: '20261122T050000Z',
        jobName: 'b-20261122t050000z',
        dataKey: 'prod/db/b/20261122T050000Z/backup.xbstream',
        metadataKey: 'prod/db/b/20261122T050000Z/metadata.json',
        type: 'incremental',
        parentBackupId: '20261121T050000Z',
        incrementalLsn: '999',
      };
      const job = renderBackupJob({
        backup: fixtures.backup('b', { deadlineSeconds: 600 }),
        cluster: fixtures.cluster(),
        store: { ...mysqlStore, compression: { algorithm: 'gzip', level: 4 }, encryption: { age: { recipients: ['age1x'] } } } as never,
        source: { podName: 'db-2', role: 'replica', instanceManagerUrl: 'https://127.1.0.9:8443' },
        plan,
        workerImage: 'silo:test',
      });
      const decoded = decodeBackupEnv(asWorkerSees(job.spec!.template.spec!.containers[0].env!), 'physical');
      expect(decoded).to.deep.equal({
        store: { ...s3Expected, ca: fileContents('/var/run/silo/store-ca/ca.crt') },
        dataKey: plan.dataKey,
        metadataKey: plan.metadataKey,
        compression: { algorithm: 'gzip', level: 4 },
        recipients: ['age1x'],
        deadlineSeconds: 585,
        expectedBytes: undefined,
        backupId: plan.backupId,
        backupType: 'incremental',
        parentBackupId: '20261121T050000Z',
        cluster: 'db',
        namespace: 'ns',
        backupName: 'b',
        sourceInstance: 'db-2',
        physical: {
          engine: 'mysql',
          incrementalLsn: '999',
          compressOn: 'instance',
          tls: {
            ca: fileContents(`${SERVER_CA_DIR}/ca.crt`),
            cert: fileContents(`${CLIENT_TLS_DIR}/tls.crt`),
            key: fileContents(`${CLIENT_TLS_DIR}/tls.key`),
            servername: 'db-instance-manager',
          },
        },
      });
    });

    it('prune Job', () => {
      const entries = [{ backupName: 'b1', prefix: 'prod/db/b1/20261122T000000Z/', why: 'expired' as const }];
      const job = renderPruneJob({ namespace: 'ns', cluster: 'db', store: mysqlStore as never, entries, workerImage: 'silo:test' });
      const env = asWorkerSees(job.spec!.template.spec!.containers[0].env!);
      expect(decodePruneEnv(env)).to.deep.equal({
        prefixes: [entries[0].prefix],
        store: { ...s3Expected, ca: fileContents('/var/run/silo/store-ca/ca.crt') },
      });
    });

    const storages: Array<{ spec: BackupStorageSpec; data: Record<string, string>; expected: ObjectStoreConfig }> = [
      {
        spec: {
          type: 's3',
          parameters: { bucket: 'b', endpoint: 'http://127.0.0.1:9000', region: 'eu-1', s3ForcePathStyle: 'true', insecure: 'true' },
          credentials: { name: 'creds', namespace: 'apps' },
        } as BackupStorageSpec,
        data: { accessKeyId: 'x', secretAccessKey: 'x', sessionToken: 'x' },
        expected: {
          type: 's3',
          bucket: 'b',
          endpoint: 'http://127.0.0.1:9000',
          region: 'eu-1',
          forcePathStyle: true,
          insecure: true,
          ca: undefined,
          accessKeyId: 'AKIA-ID',
          secretAccessKey: 'shh',
          sessionToken: 'session',
          storageClass: undefined,
          uploadConcurrency: undefined,
        },
      },
      {
        spec: {
          type: 'gcs',
          parameters: { bucket: 'g', endpoint: 'http://127.0.0.1:4443', projectId: 'p' },
          credentials: { name: 'creds', namespace: 'apps' },
        } as BackupStorageSpec,
        data: { 'serviceAccount.json': 'x' },
        expected: {
          type: 'gcs',
          bucket: 'g',
          apiEndpoint: 'http://127.0.0.1:4443',
          projectId: 'p',
          credentials: '{"type":"service_account"}',
        },
      },
      {
        spec: {
          type: 'azure',
          parameters: { container: 'c', storageAccount: 'acct' },
          credentials: { name: 'creds', namespace: 'apps' },
        } as BackupStorageSpec,
        data: { accountKey: 'x', accountName: 'x' },
        expected: {
          type: 'azure',
          container: 'c',
          endpoint: undefined,
          accountName: 'acct',
          accountKey: 'a2V5',
          connectionString: undefined,
        },
      },
    ];
    for (const storage of storages) {
      it(`BackupRun Pods (fifo backup, restore, cleanup) on ${storage.spec.type}`, () => {
        const check = checkCredentialKeys(storage.spec.type, storage.data, 'apps/creds');
        if (!check.ok) throw new Error(check.message);
        const input: RunPodInput = {
          runName: 'run-1',
          namespace: 'apps',
          runUid: 'uid',
          scheduleName: '',
          workerImage: 'silo:test',
          dataKey: 'backups/x.sql',
          backupId: '20261122T052121Z',
          storeEnv: [...storageEnv(storage.spec), ...credentialEnv(check.keys, 'creds', storage.data)],
          spec: {
            storage: { name: 's', path: '/backups/x.sql' },
            template: { spec: { containers: [{ name: 'db', image: 'db' }] } },
            backup: { container: 'db', command: ['dump'], deadlineSeconds: 300 },
            restore: { container: 'db', command: ['load'], deadlineSeconds: 200 },
            compression: { algorithm: 'zstd', level: 5 },
            encryption: { age: { recipients: ['age1a'], identitySecretRef: { name: 'age', key: 'identity' } } },
          } as BackupRunSpec,
        };
        const worker = (pod: V1Pod) => asWorkerSees(pod.spec!.containers.find((c) => c.name === WORKER_CONTAINER)!.env!);
        expect(decodeBackupEnv(worker(buildBackupPod(input)), 'fifo')).to.deep.equal({
          store: storage.expected,
          dataKey: 'backups/x.sql',
          metadataKey: 'backups/x.sql.metadata.json',
          compression: { algorithm: 'zstd', level: 5 },
          recipients: ['age1a'],
          deadlineSeconds: 300,
          expectedBytes: undefined,
          backupId: '20261122T052121Z',
          backupType: 'full',
          parentBackupId: undefined,
          cluster: undefined,
          namespace: 'apps',
          backupName: 'run-1',
          sourceInstance: undefined,
          physical: undefined,
        });
        expect(decodeRestoreEnv(worker(buildRestorePod(input)), 'command')).to.deep.equal({
          store: storage.expected,
          identity: 'AGE-SECRET-KEY-1TEST',
          deadlineSeconds: 200,
          metadataKey: 'backups/x.sql.metadata.json',
        });
        expect(decodeDeleteEnv(worker(buildCleanupPod(input)))).to.deep.equal({
          store: storage.expected,
          keys: ['backups/x.sql', 'backups/x.sql.metadata.json'],
        });
      });
    }
  });

  it('the engine is written only when it is not mysql, and an unknown one is refused by name', () => {
    expect(encodeWorkerEnv({ engine: 'mysql' })).to.deep.equal([]);
    expect(() =>
      decodeBackupEnv(
        { SILO_STORE_TYPE: 'filesystem', SILO_FS_ROOT: '/x', SILO_DATA_KEY: 'k', SILO_BACKUP_ID: 'i', SILO_ENGINE: 'oracle' },
        'physical',
      ),
    ).to.throw(ConfigError, /^SILO_ENGINE must be one of mysql \(got "oracle"\)/);
  });

  it('SILO_BACKUP_TYPE is checked, not cast', () => {
    expect(() =>
      decodeBackupEnv(
        { SILO_STORE_TYPE: 'filesystem', SILO_FS_ROOT: '/x', SILO_DATA_KEY: 'k', SILO_BACKUP_ID: 'i', SILO_BACKUP_TYPE: 'partial' },
        'command',
      ),
    ).to.throw(ConfigError, /^SILO_BACKUP_TYPE must be full, differential or incremental \(got "partial"\)/);
  });
});

describe('contracts/worker-env: the instance manager', () => {
  it('reads back what its Pod writes; the engine defaults to mysql and an unknown one is refused by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'silo-im-env-'));
    try {
      for (const name of ['cert', 'key', 'ca']) writeFileSync(join(dir, name), `${name} pem`);
      const vars = encodeInstanceManagerEnv({
        engine: 'mysql',
        tls: { certFile: join(dir, 'cert'), keyFile: join(dir, 'key'), clientCaFile: join(dir, 'ca') },
        connection: { socket: '/run/mysqld/mysqld.sock', user: 'root', passwordFile: '/var/run/pw' },
        podName: true,
        host: { fromPodIp: true },
      });
      expect(vars.map((v) => v.name)).to.not.include('SILO_IM_ENGINE');
      const env = toProcessEnv(vars, { field: (path) => (path === 'metadata.name' ? 'db-1' : '127.1.0.5') });
      expect(decodeInstanceManagerEnv(env)).to.deep.equal({
        engine: 'mysql',
        port: 8443,
        zstd: 'auto',
        host: '127.1.0.5',
        instanceName: 'db-1',
        tls: {
          cert: 'cert pem',
          key: 'key pem',
          clientCa: 'ca pem',
          files: { cert: join(dir, 'cert'), key: join(dir, 'key'), clientCa: join(dir, 'ca') },
        },
        connection: { socket: '/run/mysqld/mysqld.sock', host: undefined, port: undefined, user: 'root', passwordFile: '/var/run/pw' },
      });
      expect(() => decodeInstanceManagerEnv({ ...env, SILO_IM_ENGINE: 'postgres' })).to.throw(
        ConfigError,
        /^SILO_IM_ENGINE must be one of mysql \(got "postgres"\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads back the backup and replication users an instance Pod names, and refuses a password file without its user', () => {
    const dir = mkdtempSync(join(tmpdir(), 'silo-im-env-'));
    try {
      for (const name of ['cert', 'key', 'ca']) writeFileSync(join(dir, name), `${name} pem`);
      const vars = encodeInstanceManagerEnv({
        tls: { certFile: join(dir, 'cert'), keyFile: join(dir, 'key'), clientCaFile: join(dir, 'ca') },
        connection: { socket: '/run/mysqld/mysqld.sock', user: 'silo_manager', passwordFile: '/var/run/silo/system-users/manager' },
        backupUser: { user: 'silo_backup', passwordFile: '/var/run/silo/system-users/backup' },
        replicationUser: { user: 'silo_replication', passwordFile: '/var/run/silo/system-users/replication' },
        host: '127.1.0.9',
      });
      // Only file paths travel: no value in the Pod spec is a password.
      expect(vars.filter((v) => /PASSWORD/.test(v.name)).map((v) => v.value)).to.deep.equal([
        '/var/run/silo/system-users/manager',
        '/var/run/silo/system-users/backup',
        '/var/run/silo/system-users/replication',
      ]);
      const env = toProcessEnv(vars);
      expect(decodeInstanceManagerEnv(env)).to.deep.include({
        connection: {
          socket: '/run/mysqld/mysqld.sock',
          host: undefined,
          port: undefined,
          user: 'silo_manager',
          passwordFile: '/var/run/silo/system-users/manager',
        },
        backupUser: { user: 'silo_backup', passwordFile: '/var/run/silo/system-users/backup' },
        replicationUser: { user: 'silo_replication', passwordFile: '/var/run/silo/system-users/replication' },
        host: '127.1.0.9',
      });
      expect(() => decodeInstanceManagerEnv({ ...env, SILO_DB_BACKUP_USER: '' })).to.throw(
        ConfigError,
        /^SILO_DB_BACKUP_PASSWORD_FILE is set but SILO_DB_BACKUP_USER is not/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
