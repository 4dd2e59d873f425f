import { expect } from 'chai';
import { validateResource } from '../../../src/validation/validator.js';
import { validateBackupMetadata } from '../../../src/validation/backup-metadata-validation.js';
import { VALID_BACKUP } from '../../support/bad-inputs.js';

const SHA = 'a'.repeat(64);
const metadata = {
  formatVersion: 1,
  kind: 'physical',
  backupId: '20261122T030405Z',
  type: 'incremental',
  parentBackupId: '20261121T030405Z',
  method: 'xtrabackup',
  sourceInstance: 'db-2',
  objectKey: 'production/db/nightly/20261122T030405Z/backup.xbstream',
  cluster: { name: 'db', namespace: 'prod' },
  backup: { name: 'nightly', namespace: 'prod' },
  codec: { compression: 'zstd', level: 1, encryption: 'age', recipientFingerprints: [SHA] },
  sizes: { storedBytes: 1024, sourceBytes: 4096 },
  sha256: SHA,
  startedAt: '2026-11-22T03:04:05Z',
  stoppedAt: '2026-11-22T03:14:05Z',
  gtid: { begin: '0-1-100', end: '0-1-180' },
  binlog: { begin: 'mysql-bin.000003:120', end: 'mysql-bin.000003:9120' },
  lsn: { from: '1000', to: '2000' },
};

describe('metadata.json schema', () => {
  it('accepts a complete document', () => expect(validateBackupMetadata(metadata).issues).to.deep.equal([]));
  it('requires the checksum', () => {
    const { sha256: _sha, ...rest } = metadata;
    expect(validateBackupMetadata(rest).issues.map((i) => i.message)).to.include('sha256 is required');
  });
  it('rejects a checksum that is not hex SHA256', () => {
    expect(validateBackupMetadata({ ...metadata, sha256: 'etag-1234' }).issues.map((i) => i.path)).to.include('sha256');
  });
  it('rejects an unknown codec', () => {
    expect(validateBackupMetadata({ ...metadata, codec: { compression: 'brotli' } }).issues[0].message).to.match(
      /codec.compression must be one of none, gzip, zstd/,
    );
  });
  it('rejects unknown fields, so a typo never hides data', () => {
    expect(validateBackupMetadata({ ...metadata, sha265: SHA }).issues[0].message).to.equal(
      'sha265 is not a known field; did you mean sha256?',
    );
  });
});

describe('Backup immutability (transition rule)', () => {
  it('accepts an unchanged spec on update', () => {
    expect(validateResource('Backup', VALID_BACKUP, VALID_BACKUP).issues).to.deep.equal([]);
  });
  it('rejects a changed spec on update', () => {
    const changed = { ...VALID_BACKUP, spec: { ...VALID_BACKUP.spec, target: 'primary' } };
    expect(validateResource('Backup', changed, VALID_BACKUP).issues.map((i) => i.message)).to.include(
      'spec: Backup spec is immutable; create a new Backup instead',
    );
  });
});
