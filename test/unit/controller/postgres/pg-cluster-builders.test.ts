import { expect } from 'chai';
import type { PGClusterSpec } from '../../../../src/api/postgres.silo.io/types.js';
import {
  instanceConfig,
  repoHostConfig,
  repoHostCredentialEnv,
} from '../../../../runtime/controller/postgres/cluster/pgbackrest-config.js';
import { clusterPvcs, primaryPod, repoHostPod } from '../../../../runtime/controller/postgres/cluster/pg-pods.js';
import { backupStatusFields, findBackup, repoStatusRow, stanzaOf } from '../../../../runtime/controller/postgres/shared/pgbackrest-info.js';

const spec: PGClusterSpec = {
  storage: { size: '1Gi' },
  backups: {
    pgbackrest: {
      global: { 'process-max': '4' },
      repos: [
        { name: 'repo1', volume: { volumeClaimSpec: { size: '5Gi' } }, retention: { full: 2 } },
        {
          name: 'repo2',
          s3: {
            bucket: 'b',
            endpoint: 'https://minio.example:9000',
            region: 'us-east-1',
            uriStyle: 'path',
            caSecret: { name: 'ca', key: 'ca.crt' },
            credentials: { accessKeyId: { name: 's3', key: 'id' }, secretAccessKey: { name: 's3', key: 'secret' } },
          },
          encryption: { passphrase: { name: 'cipher', key: 'pass' } },
        },
      ],
    },
  },
};
const input = {
  cluster: 'shop',
  namespace: 'ns',
  spec,
  primaryHost: 'shop-1.shop-instances.ns.svc',
  repoHostHost: 'shop-repo-host.shop-repo.ns.svc',
};
const owner = { apiVersion: 'postgres.silo.io/v1alpha1', kind: 'PGCluster', name: 'shop', uid: 'u' };

describe('PGCluster builders', () => {
  it('the instance config reaches every repository through the repo host, naming the same storage, with no key', () => {
    const conf = instanceConfig(input);
    expect(conf).to.contain('repo1-host=shop-repo-host.shop-repo.ns.svc').and.contain('repo2-host-type=tls').and.contain('archive-async=y');
    expect(conf).to.contain('tls-server-auth=silo-pg-repo-host=db');
    // pgBackRest's client sends its repository options to the repo host, which uses them: they must be the same.
    expect(conf)
      .to.contain('repo1-path=/pgbackrest/repo1/silo/ns/shop')
      .and.contain('repo2-type=s3')
      .and.contain('repo2-path=/silo/ns/shop');
    expect(conf).to.contain('repo2-s3-key=held-by-the-repo-host').and.contain('repo2-cipher-type=aes-256-cbc');
    expect(conf).to.not.match(/cipher-pass|retention/);
  });

  it('the repo host config has the repositories, the cluster path by default, retention and cipher type, and no secret', () => {
    const conf = repoHostConfig(input);
    expect(conf)
      .to.contain('repo1-type=posix')
      .and.contain('repo1-path=/pgbackrest/repo1/silo/ns/shop')
      .and.contain('repo1-retention-full=2');
    expect(conf)
      .to.contain('repo2-s3-endpoint=minio.example')
      .and.contain('repo2-storage-port=9000')
      .and.contain('repo2-path=/silo/ns/shop');
    expect(conf)
      .to.contain('repo2-cipher-type=aes-256-cbc')
      .and.contain('process-max=4')
      .and.contain('pg1-host=shop-1.shop-instances.ns.svc');
    expect(conf).to.contain('tls-server-auth=silo-pg-instance=db');
    expect(conf).to.not.match(/s3-key|cipher-pass/);
  });

  it('bundles small files in every repository unless the repository opts out, on the repo host and the instances alike', () => {
    for (const conf of [repoHostConfig(input), instanceConfig(input)])
      expect(conf).to.contain('repo1-bundle=y').and.contain('repo2-bundle=y');
    const repos = spec.backups.pgbackrest.repos.map((repo) => (repo.name === 'repo2' ? { ...repo, bundle: false } : repo));
    const optedOut = { ...input, spec: { ...spec, backups: { ...spec.backups, pgbackrest: { ...spec.backups.pgbackrest, repos } } } };
    for (const conf of [repoHostConfig(optedOut), instanceConfig(optedOut)])
      expect(conf).to.contain('repo1-bundle=y').and.contain('repo2-bundle=n');
  });

  it('storage credentials reach only the repo host, passphrases the repo host and the instance, as Secret references', () => {
    expect(repoHostCredentialEnv(spec.backups.pgbackrest.repos).map((e) => [e.name, e.valueFrom?.secretKeyRef?.name])).to.deep.equal([
      ['PGBACKREST_REPO2_S3_KEY', 's3'],
      ['PGBACKREST_REPO2_S3_KEY_SECRET', 's3'],
      ['PGBACKREST_REPO2_CIPHER_PASS', 'cipher'],
    ]);
    const repoHost = repoHostPod({ ...input, owner, pgbackrestConf: 'x' });
    const primary = primaryPod({ ...input, owner, pgbackrestConf: 'x' });
    expect(JSON.stringify(repoHost.spec)).to.contain('PGBACKREST_REPO2_CIPHER_PASS');
    // pgBackRest encrypts WAL on the database side: the passphrase is the one secret the instance gets.
    expect(
      primary.spec!.containers[0].env!.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom?.secretKeyRef?.name]),
    ).to.deep.equal([['PGBACKREST_REPO2_CIPHER_PASS', 'cipher']]);
    expect(JSON.stringify(primary.spec)).to.not.match(/S3_KEY|"s3"/);
    expect(primary.spec).to.include({ hostname: 'shop-1', subdomain: 'shop-instances', automountServiceAccountToken: false });
  });

  it("PGDATA and volume repositories are given to the image's postgres group (999), as the image runs as that user", () => {
    for (const pod of [repoHostPod({ ...input, owner, pgbackrestConf: 'x' }), primaryPod({ ...input, owner, pgbackrestConf: 'x' })])
      expect(pod.spec!.securityContext, pod.metadata!.name).to.deep.equal({ fsGroup: 999, fsGroupChangePolicy: 'OnRootMismatch' });
  });

  it('a PVC for PGDATA and one per volume repository', () => {
    expect(
      clusterPvcs({ ...input, owner, pgbackrestConf: '' }).map((p) => [p.metadata!.name, p.spec!.resources!.requests!.storage]),
    ).to.deep.equal([
      ['shop-1', '1Gi'],
      ['shop-repo1', '5Gi'],
    ]);
  });
});

describe('pgbackrest info → status', () => {
  const info = [
    {
      name: 'db',
      status: { code: 0, message: 'ok' },
      db: [{ id: 1, 'system-id': '7300000000000000001', version: '15', 'repo-key': 1 }],
      archive: [{ id: '15-1', min: '000000010000000000000001', max: '000000010000000000000005', database: { id: 1, 'repo-key': 1 } }],
      repo: [
        { key: 1, cipher: 'none', status: { code: 0, message: 'ok' } },
        { key: 2, cipher: 'aes-256-cbc', status: { code: 1, message: 'missing stanza path' } },
      ],
      backup: [
        {
          label: '20261204-100000F',
          type: 'full',
          prior: null,
          reference: null,
          annotation: { 'silo-backup': 'ns/b1/u1' },
          timestamp: { start: 1796378400, stop: 1796378460 },
          lsn: { start: '0/2000028', stop: '0/2000100' },
          archive: { start: '000000010000000000000002', stop: '000000010000000000000002' },
          info: { size: 30000000, delta: 30000000, repository: { size: 4000000, delta: 4000000 } },
          database: { id: 1, 'repo-key': 1 },
          error: false,
        },
      ],
    },
  ];
  it('a repository row: stanza, cipher, archive range, first recoverability point', () => {
    expect(repoStatusRow(stanzaOf(info), 1)).to.deep.include({
      stanzaCreated: true,
      archiveMin: '000000010000000000000001',
      archiveMax: '000000010000000000000005',
      firstRecoverabilityPoint: '2026-12-04T10:01:00Z',
      backups: 1,
    });
    expect(repoStatusRow(stanzaOf(info), 2)).to.deep.include({ stanzaCreated: false, cipher: 'aes-256-cbc', statusCode: 1 });
  });
  it('a backup is found by its annotation and read into status fields', () => {
    const found = findBackup(stanzaOf(info), 1, 'ns/b1/u1')!;
    expect(findBackup(stanzaOf(info), 2, 'ns/b1/u1')).to.equal(undefined);
    expect(backupStatusFields(found)).to.deep.include({
      label: '20261204-100000F',
      type: 'full',
      repoSizeBytes: 4000000,
      lsnStart: '0/2000028',
      backupError: false,
    });
  });
});
