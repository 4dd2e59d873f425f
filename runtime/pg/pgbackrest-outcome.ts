/**
 * What a pgBackRest command's output says went wrong. pgBackRest reports a remote or storage failure
 * behind a generic exit code (27 `no database found`, 56 `unable to find primary cluster`) and puts the
 * cause in a WARN line before it; the cause, not the code, is what a user can fix. Checked in order:
 * the first pattern found in the output wins, causes before their generic consequences.
 */
import type { CommandOutcome, PgFailure } from '../contracts/pg-pods.js';

const CAUSES: ReadonlyArray<readonly [PgFailure, RegExp, string]> = [
  [
    'StanzaMismatch',
    /\[028\]|\[044\]|do not match the database|do not match stanza|system-id \d+ do not match/i,
    'the repository path already holds a stanza of another database (another system id); give this repository another path, or empty it',
  ],
  ['LockBusy', /\[050\]|unable to acquire lock/i, 'another pgBackRest backup of this cluster holds the lock; wait for it to finish'],
  [
    'ArchiveTimeout',
    /\[082\]|was not archived before the .*timeout/i,
    'WAL did not reach the repository within archive-timeout; check archiving (status.conditions ContinuousArchiving) and the repository',
  ],
  [
    'UnknownCA',
    /unknown ca|unable to verify certificate|certificate verify failed/i,
    'a TLS peer presented a certificate from another CA; let the operator re-issue the cluster PKI (delete the <cluster>-pgbackrest-* Secrets)',
  ],
  [
    'NoClientCertificate',
    // pgBackRest's own client cannot connect without one: it refuses to start (measured, 2.45: exit 37).
    /certificate required|no client certificate|peer did not return a certificate|requires option: \S*-cert-file/i,
    'a client connected to pgBackRest without a certificate; check the pgBackRest TLS Secrets',
  ],
  [
    'ClientNotAuthorized',
    /AccessError|access denied/i,
    'pgBackRest refused the client certificate (its CN is not authorised for the stanza); check the pgBackRest TLS Secrets',
  ],
  [
    'CipherMismatch',
    // A wrong passphrase decrypts the info files to noise: pgBackRest then reports a format error (measured, 2.45).
    /CryptoError|cipher header invalid|unable to flush|wrong final block length|bad decrypt|FormatError: key\/value found outside of section/i,
    'the repository cannot be read with this cipher passphrase; put back the passphrase the repository was created with',
  ],
  [
    'BucketMissing',
    // Azure says so in words; GCS answers a listing of a missing bucket with a bare 404, the only 404 pgBackRest
    // raises (a missing file is its own "missing file" error).
    /NoSuchBucket|NoSuchContainer|ContainerNotFound|container does not exist|bucket .* does not exist|HTTP 404 .*bucket|failed with 404\b/i,
    'the bucket or container does not exist; create it or fix the repository settings',
  ],
  [
    'StorageAuthFailed',
    // S3's codes, Azure's 403 (AuthorizationFailure, a bad shared key), GCS's token exchange refused (service key).
    /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|AuthenticationFailed|AuthorizationFailure|failed to authenticate|HTTP 403|HTTP 401|failed with 40[13]\b|unable to get authentication token|invalid_grant/i,
    'the object store refused the credentials; fix the repository credentials Secret',
  ],
  [
    'RepoVolumeFull',
    // 2.45 reports a failed write into a volume repository (/pgbackrest/repoN) without the errno: FileWriteError,
    // "unable to write '<file>'" (measured on a full tmpfs). Opening a file there fails differently (permissions).
    /No space left on device|ENOSPC|quota exceeded|unable to write '\/pgbackrest\/repo[1-4]\//i,
    'the repository volume is full; expand it or lower retention',
  ],
  [
    'RepoHostUnreachable',
    /HostConnectError|Connection refused|unable to connect|timeout.*connect|could not resolve|unable to get address/i,
    'a pgBackRest server could not be reached; check that the repo host and the instance Pods run',
  ],
  [
    'DatabaseUnreachable',
    /no database found|unable to find primary cluster|\[027\]|\[056\]/i,
    'pgBackRest could not reach PostgreSQL through the instance',
  ],
];

/** The first line that names the cause, cut and without anything that looks like a secret. */
function causeLine(output: string, pattern: RegExp): string | undefined {
  const lines = output.split('\n').filter((l) => pattern.test(l));
  const line = lines.find((l) => /ERROR:|WARN:/.test(l)) ?? lines[0];
  return (
    line
      // Decrypted noise and control characters never reach a status message.
      ?.replace(/[^\x20-\x7e]+/g, '?')
      .replace(/(key|secret|pass|token)[^ ]*=\S+/gi, '$1=<redacted>')
      .trim()
      .slice(0, 400)
  );
}

/** Maps an exit code and the command's output to an outcome with Silo's reason. */
export function pgbackrestOutcome(exitCode: number | null, output: string): CommandOutcome {
  if (exitCode === 0) return { ok: true, exitCode };
  for (const [reason, pattern, fix] of CAUSES) {
    const line = causeLine(output, pattern);
    if (line) return { ok: false, exitCode, reason, message: `pgBackRest: ${line}`, fix };
  }
  const last = output.trim().split('\n').filter(Boolean).pop()?.slice(0, 400) ?? 'no output';
  return { ok: false, exitCode, reason: 'PgBackRestFailed', message: `pgBackRest exited with ${exitCode}: ${last}` };
}
