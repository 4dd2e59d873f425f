import { expect } from 'chai';
import { pgbackrestOutcome } from '../../../runtime/pg/pgbackrest-outcome.js';
import { backupArgs } from '../../../runtime/pg/repo-agent.js';

describe('pgBackRest outcomes: the cause from the output, not the generic exit code', () => {
  const cases: Array<[string, number, string, string]> = [
    [
      'stanza-create over another database',
      28,
      'ERROR: [028]: backup and archive info files exist but do not match the database\n       HINT: is this the correct stanza?',
      'StanzaMismatch',
    ],
    ['second backup of the stanza', 50, 'ERROR: [050]: unable to acquire lock on file /var/run/silo-pg/lock/db-backup.lock', 'LockBusy'],
    [
      'client CN not authorised',
      56,
      'WARN: unable to check pg1: [AccessError] raised from remote-0 tls protocol: access denied\nERROR: [056]: unable to find primary cluster',
      'ClientNotAuthorized',
    ],
    [
      'client certificate from a foreign CA',
      27,
      'WARN: unable to check pg1: [ServiceError] TLS error [1:337100934] tlsv1 alert unknown ca\nERROR: [027]: no database found',
      'UnknownCA',
    ],
    [
      'server down',
      56,
      'WARN: unable to check pg1: [HostConnectError] unable to connect to 127.1.0.3:8432: [111] Connection refused\nERROR: [056]: unable to find primary cluster',
      'RepoHostUnreachable',
    ],
    [
      'WAL not archived in time',
      82,
      'ERROR: [082]: WAL segment 000000010000000000000003 was not archived before the 60000ms timeout',
      'ArchiveTimeout',
    ],
    [
      'bad S3 credentials',
      39,
      'ERROR: [039]: HTTP request failed with 403 (Forbidden):\n*** Response Content ***:\n<Code>InvalidAccessKeyId</Code>',
      'StorageAuthFailed',
    ],
    ['missing bucket', 39, '<Code>NoSuchBucket</Code>', 'BucketMissing'],
    ['volume full', 47, 'ERROR: [047]: unable to write: No space left on device', 'RepoVolumeFull'],
    ['wrong passphrase', 95, 'ERROR: [095]: raised from remote-0 tls protocol: unable to flush', 'CipherMismatch'],
    [
      'wrong passphrase, info file decrypted to noise',
      29,
      "ERROR: [029]: unable to load info file '/x/archive/db/archive.info' or '/x/archive/db/archive.info.copy':\n       FormatError: key/value found outside of section at line 1: \u00ef\u00da\u008a",
      'CipherMismatch',
    ],
    ['anything else', 99, 'ERROR: [099]: something new', 'PgBackRestFailed'],
  ];
  for (const [what, code, output, reason] of cases)
    it(`${what} → ${reason}`, () => {
      const outcome = pgbackrestOutcome(code, output);
      expect(outcome).to.include({ ok: false, exitCode: code, reason });
      expect(outcome.message).to.be.a('string').and.not.equal('');
    });

  it('exit 0 is a success whatever the output says', () =>
    expect(pgbackrestOutcome(0, 'WARN: something')).to.deep.equal({ ok: true, exitCode: 0 }));

  it('never repeats a secret-looking option from the output', () => {
    const outcome = pgbackrestOutcome(39, 'ERROR: [039]: HTTP 403 with --repo2-s3-key-secret=hunter2');
    expect(outcome.message).to.not.contain('hunter2');
  });
});

describe('the repo host agent checks a backup request itself', () => {
  const request = { repo: 2, type: 'incremental' as const, annotation: 'ns/b/uid-1', options: ['--process-max=2'] };
  it('builds pgbackrest backup with the repository, type and annotation', () => {
    expect(backupArgs(request)).to.include.members([
      '--repo=2',
      '--type=incr',
      '--annotation=silo-backup=ns/b/uid-1',
      '--process-max=2',
      'backup',
    ]);
  });
  for (const option of [
    '--repo=1',
    '--repo1-path=/x',
    '--pg1-host=evil',
    '--config=/tmp/x',
    '--stanza=other',
    '--type=full',
    '--lock-path=/tmp',
  ])
    it(`refuses ${option}`, () => expect(() => backupArgs({ ...request, options: [option] })).to.throw(/not allowed/));
  it('refuses an option with a space (one argv item each)', () =>
    expect(() => backupArgs({ ...request, options: ['--start-fast --repo=1'] })).to.throw());
});
