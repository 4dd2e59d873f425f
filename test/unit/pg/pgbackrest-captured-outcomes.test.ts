/**
 * pgBackRest 2.45's real output, captured into test/fixtures/pgbackrest/ (its README says how), mapped to
 * the reason a user can act on: the cause pgBackRest names, never its generic exit code.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { pgbackrestOutcome } from '../../../runtime/pg/pgbackrest-outcome.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/pgbackrest/${name}.out`, import.meta.url), 'utf8');

describe('pgBackRest outcomes from captured output', () => {
  const cases: Array<[string, number, string, RegExp]> = [
    ['azure-bad-key', 39, 'StorageAuthFailed', /failed with 403/],
    ['azure-missing-container', 39, 'BucketMissing', /404|container does not exist/],
    ['gcs-missing-bucket', 39, 'BucketMissing', /404/],
    ['gcs-service-key-refused', 39, 'StorageAuthFailed', /authentication token/],
    // Backups on the repo host (pg-failures.test.ts's Job logs): a full volume, a held lock, archiving broken.
    ['volume-full-backup', 64, 'RepoVolumeFull', /unable to write '\/pgbackrest\/repo1\//],
    ['lock-busy-backup', 50, 'LockBusy', /unable to acquire lock/],
    ['archive-timeout-backup', 82, 'ArchiveTimeout', /was not archived before the 10000ms timeout/],
    // Between a pgBackRest client and `pgbackrest server` (capture-tls.sh).
    ['tls-client-not-authorised', 105, 'ClientNotAuthorized', /access denied/],
    ['tls-client-unknown-ca', 101, 'UnknownCA', /unknown ca/],
    ['tls-server-unknown-ca', 95, 'UnknownCA', /unable to verify certificate/],
    ['tls-host-unreachable', 49, 'RepoHostUnreachable', /Connection refused/],
    ['tls-no-client-certificate', 37, 'NoClientCertificate', /cert-file/],
  ];
  it('tls-authorised: the same server and certificates work when the CN is authorised', () =>
    expect(fixture('tls-authorised')).to.match(/^exit 0$/m));

  for (const [name, code, reason, message] of cases)
    it(`${name} → ${reason}`, () => {
      const outcome = pgbackrestOutcome(code, fixture(name));
      expect(outcome).to.include({ ok: false, exitCode: code, reason });
      expect(outcome.message).to.match(message);
      expect(outcome.message).to.not.match(/authorization: (?!<redacted>)/);
    });
});
