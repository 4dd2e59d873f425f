import { expect } from 'chai';
import type { PGClusterSpec, PGDataSourceRepository } from '../../../../src/api/postgres.silo.io/types.js';
import { infoRefusal, restoreSourceConfig, restoreSourcePod } from '../../../../runtime/controller/postgres/cluster/pg-restore-bucket.js';
import { recoverySettings } from '../../../../runtime/pg/restore.js';
import { REPLICATION_LIMITS } from '../../../../runtime/pg/pg-access.js';
import { repoHostPod, podConfigHash } from '../../../../runtime/controller/postgres/cluster/pg-pods.js';

const source: PGDataSourceRepository = {
  stanza: 'db',
  repo: {
    name: 'repo2',
    path: '/silo/old/shop',
    s3: {
      bucket: 'backups',
      endpoint: 'minio.example.com:9000',
      region: 'us-east-1',
      uriStyle: 'path',
      credentials: { accessKeyId: { name: 'store', key: 'id' }, secretAccessKey: { name: 'store', key: 'secret' } },
    },
    encryption: { passphrase: { name: 'cipher', key: 'passphrase' } },
  },
  global: { 'process-max': '2' },
};
const spec: PGClusterSpec = {
  storage: { size: '1Gi' },
  dataSource: { pgbackrest: source },
  backups: { pgbackrest: { repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
};
const owner = { apiVersion: 'postgres.silo.io/v1alpha1', kind: 'PGCluster', name: 'copy', uid: 'u1' };

describe('PostgreSQL recovery from the bucket alone: the restore source in the repo host place (decision 0293)', () => {
  it("its config names only the given repository at its path, admits only the restore's CN and holds no secret", () => {
    const conf = restoreSourceConfig(source, 'new', 'copy');
    expect(conf).to.contain('tls-server-auth=silo-pg-restore=db');
    expect(conf).to.contain('repo2-path=/silo/old/shop');
    expect(conf).to.contain('repo2-s3-bucket=backups');
    expect(conf).to.contain('repo2-cipher-type=aes-256-cbc');
    expect(conf).to.contain('process-max=2');
    expect(conf).to.not.match(/repo1-|pg1-host|silo-pg-instance/);
    expect(conf).to.not.match(/cipher-pass|s3-key/);
  });

  it("is the repo host Pod with the given repository's credentials instead of the cluster's, so its hash differs", () => {
    const input = { cluster: 'copy', namespace: 'new', spec, owner };
    const pod = restoreSourcePod(input, source);
    const real = repoHostPod({ ...input, pgbackrestConf: 'x' });
    expect(pod.metadata!.name).to.equal('copy-repo-host');
    expect(pod.spec!.hostname).to.equal(real.spec!.hostname);
    const env = pod.spec!.containers[0].env!;
    expect(env.map((e) => e.name)).to.include.members([
      'PGBACKREST_REPO2_S3_KEY',
      'PGBACKREST_REPO2_S3_KEY_SECRET',
      'PGBACKREST_REPO2_CIPHER_PASS',
    ]);
    expect(JSON.stringify(pod.spec!.volumes)).to.not.contain('repo1-volume');
    expect(podConfigHash(pod)).to.not.equal(podConfigHash(real));
    expect(podConfigHash(restoreSourcePod(input, source))).to.equal(podConfigHash(pod));
  });

  it("reads pgBackRest's answers as reasons: no stanza, wrong passphrase, refused credentials, no answer (waited for)", () => {
    expect(infoRefusal('pgBackRest: missing stanza path')).to.include({ reason: 'SourceStanzaNotFound', waiting: false });
    expect(infoRefusal('ERROR: [095]: unable to load info file: CryptoError: cipher header invalid')).to.include({
      reason: 'CipherMismatch',
    });
    expect(infoRefusal('FormatError: key/value found outside of section at line 1: \x01\x02')).to.include({ reason: 'CipherMismatch' });
    expect(infoRefusal('S3 request failed with 403: Forbidden <Code>InvalidAccessKeyId</Code>')).to.include({
      reason: 'StorageAuthFailed',
    });
    // A wrong secret key, as pgBackRest 2.45's info reports it through the restore source (pg-restore-failures.test.ts).
    const forbidden =
      'pgBackRest: [ProtocolError] HTTP request failed with 403 (Forbidden):?*** Path/Query ***:?GET /silo-test/?delimiter=%2F&list-type=2';
    expect(infoRefusal(forbidden)).to.include({ reason: 'StorageAuthFailed', waiting: false });
    expect(infoRefusal('repo host agent /status: no answer within 60 s')).to.include({
      reason: 'SourceRepositoryUnreachable',
      waiting: true,
    });
    expect(infoRefusal('FormatError: \x01\x02 noise').detail).to.equal('FormatError: ? noise');
  });

  it("the replay runs with the instances' replication limits: hot standby refuses WAL from a server with higher ones", () => {
    const settings = recoverySettings();
    for (const [name, value] of Object.entries(REPLICATION_LIMITS)) expect(settings).to.include(`${name}=${value}`);
  });
});
