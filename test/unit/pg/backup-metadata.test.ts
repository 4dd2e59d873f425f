import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { buildPgBackupMetadata, expiredMetadataKeys, parseInfoJson } from '../../../runtime/pg/backup-metadata.js';
import { repoStore } from '../../../runtime/pg/repo-store.js';
import { pgBackupMetadataKey } from '../../../runtime/contracts/pg-backup-metadata.js';

/** `pgbackrest info --stanza=db --repo=1 --set=<incr> --output=json` as pgBackRest 2.45 printed it (a scratch cluster). */
const captured = readFileSync(new URL('./fixtures/pgbackrest-2.45-info-set-incr.json', import.meta.url), 'utf8');
const LABEL = '20261205-013309F_20261205-013313I';

describe('metadata.json of a PostgreSQL backup set, from pgbackrest info', () => {
  const now = new Date('2026-12-05T01:40:00Z');
  it('reads label, type, prior, references, database, sizes, times, LSNs, WAL and cipher from the captured output', () => {
    const m = buildPgBackupMetadata({ info: parseInfoJson(captured), repo: 1, label: LABEL, manifestSha256: 'ab'.repeat(32), now });
    expect(m).to.deep.include({
      version: 1,
      label: LABEL,
      type: 'incremental',
      prior: '20261205-013309F',
      references: ['20261205-013309F'],
      repo: 'repo1',
      stanza: 'db',
      annotation: 'ns/b2/u2',
      // All 19 digits: a JSON number would have ended ...4887 as ...4900.
      postgres: { version: '15', systemId: '7715626935077434887' },
      sizes: { databaseBytes: 22992569, copiedBytes: 8458, repoBytes: 2811756, repoDeltaBytes: 388 },
      startedAt: '2026-12-05T01:33:13Z',
      stoppedAt: '2026-12-05T01:33:15Z',
      lsn: { start: '0/3000028', stop: '0/4000050' },
      wal: { start: '000000010000000000000003', stop: '000000010000000000000004' },
      backupError: false,
      cipherType: 'none',
      manifestSha256: 'ab'.repeat(32),
      manifestKey: `backup/db/${LABEL}/backup.manifest`,
      writtenAt: '2026-12-05T01:40:00.000Z',
      pgbackrestVersion: '2.45',
    });
    expect(JSON.stringify(m)).to.not.match(/pass/i);
  });

  it('a set info does not show, or shows in another repository, is an error naming the set and the repository', () => {
    const info = parseInfoJson(captured);
    expect(() => buildPgBackupMetadata({ info, repo: 1, label: '20261205-013309F', manifestSha256: '', now })).to.throw(
      /no backup set 20261205-013309F in repo1/,
    );
    expect(() => buildPgBackupMetadata({ info, repo: 2, label: LABEL, manifestSha256: '', now })).to.throw(/in repo2/);
  });

  it('metadata.json of a set expire removed is pruned; only when info could read the repository', () => {
    const info = parseInfoJson(captured);
    const keys = [pgBackupMetadataKey('db', LABEL), pgBackupMetadataKey('db', '20261101-000000F'), 'silo/backups/db/notes.txt'];
    expect(expiredMetadataKeys(info, 1, keys)).to.deep.equal([pgBackupMetadataKey('db', '20261101-000000F')]);
    const unreadable = [{ name: 'db', repo: [{ key: 1, cipher: 'none', status: { code: 99 } }], backup: [] }];
    expect(expiredMetadataKeys(unreadable, 1, keys)).to.deep.equal([]);
  });

  it('lives beside pgBackRest’s directories, never inside archive/ or backup/', () => {
    expect(pgBackupMetadataKey('db', LABEL)).to.equal(`silo/backups/db/${LABEL}/metadata.json`);
  });
});

describe("a repository as an object store, from the repo host's pgbackrest.conf and credential variables", () => {
  const conf = [
    '[global]',
    'repo1-type=posix',
    'repo1-path=/pgbackrest/repo1/silo/ns/shop',
    'repo2-type=s3',
    'repo2-s3-bucket=b',
    'repo2-s3-endpoint=minio.local',
    'repo2-storage-port=9443',
    'repo2-s3-region=us-east-1',
    'repo2-s3-uri-style=path',
    'repo2-storage-ca-file=/etc/silo/repo-ca/repo2/ca.crt',
    'repo2-path=/silo/ns/shop',
    'repo3-type=azure',
    'repo3-azure-container=c',
    'repo3-azure-endpoint=127.0.0.1',
    'repo3-azure-uri-style=path',
    'repo3-storage-port=10000',
    'repo3-path=/p',
    '',
    '[db]',
    'repo1-path=/not-global',
  ].join('\n');
  const env = {
    PGBACKREST_REPO2_S3_KEY: 'AK',
    PGBACKREST_REPO2_S3_KEY_SECRET: 'SK',
    PGBACKREST_REPO3_AZURE_ACCOUNT: 'acct',
    PGBACKREST_REPO3_AZURE_KEY: 'k',
  };
  const read = (p: string) => `PEM of ${p}`;

  it('a volume repository is its path on the repo host', () => {
    expect(repoStore(conf, env, 1, read)).to.deep.equal({
      config: { type: 'filesystem', root: '/pgbackrest/repo1/silo/ns/shop' },
      prefix: '',
    });
  });
  it('an S3 repository: endpoint over https with its port, path style, its CA, the keys from the environment, keys under its path', () => {
    expect(repoStore(conf, env, 2, read)).to.deep.equal({
      prefix: 'silo/ns/shop/',
      config: {
        type: 's3',
        bucket: 'b',
        endpoint: 'https://minio.local:9443',
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: 'AK',
        secretAccessKey: 'SK',
        sessionToken: undefined,
        ca: 'PEM of /etc/silo/repo-ca/repo2/ca.crt',
        insecure: false,
      },
    });
  });
  it('an Azure repository in path style: the account in the URL path', () => {
    expect(repoStore(conf, env, 3, read).config).to.deep.include({
      type: 'azure',
      container: 'c',
      endpoint: 'https://127.0.0.1:10000/acct',
    });
  });
  it('an Azure repository without its account variable is an error naming it', () => {
    expect(() => repoStore(conf, {}, 3, read)).to.throw(/PGBACKREST_REPO3_AZURE_ACCOUNT/);
  });
});
