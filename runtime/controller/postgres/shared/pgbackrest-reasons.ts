/**
 * pgBackRest's failure causes as reasons (runtime/contracts/pg-pods.ts PG_FAILURES, read from its
 * output by the repo host; runtime/pg/pgbackrest-outcome.ts). PGCluster and PGBackup spread them into
 * their own tables (decision 0251).
 */
import type { PgFailure } from '../../../contracts/pg-pods.js';
import type { ReasonEntry } from '../../kube/reasons.js';

export const PGBACKREST_REASON_TABLE = {
  StanzaMismatch: {
    sentence: 'the repository path already holds a stanza of another database (another system id)',
    fix: 'give the repository another path (spec.backups.pgbackrest.repos[].path), or empty that path if its backups are no longer wanted',
  },
  LockBusy: {
    sentence: 'another pgBackRest process holds the backup lock of this cluster',
    fix: "wait for it to finish: Silo runs a cluster's backups one at a time, so it is one started outside Silo (by hand on the repo host)",
  },
  ArchiveTimeout: {
    sentence: 'WAL did not reach the repository within archive-timeout',
    fix: 'check ContinuousArchiving on the PGCluster and the repository; raise archive-timeout in global if the store is slow',
  },
  RepoHostUnreachable: { sentence: 'a pgBackRest server could not be reached', fix: 'check that the repo host and instance Pods run' },
  StorageUnreachable: {
    sentence: "the repo host could not reach a repository's object store, so WAL waits on the primary's volume",
    fix: 'check that the store runs and that its endpoint (repos[].s3/gcs/azure) is reachable from the repo host; the backlog is archived once it is',
  },
  ClientNotAuthorized: {
    sentence: 'pgBackRest refused a client certificate (its CN is not authorised for the stanza)',
    fix: 'delete the <cluster>-pgbackrest-* Secrets so the operator issues them again',
  },
  UnknownCA: {
    sentence: 'a TLS peer presented a certificate from another CA',
    fix: 'delete the <cluster>-pgbackrest-* Secrets so the operator issues them again',
  },
  NoClientCertificate: { sentence: 'a client connected to pgBackRest without a certificate', fix: 'check the pgBackRest TLS Secrets' },
  StorageAuthFailed: { sentence: 'the object store refused the credentials', fix: 'fix the repository credentials Secret' },
  BucketMissing: { sentence: 'the bucket or container does not exist', fix: 'create it, or fix the repository settings' },
  CipherMismatch: {
    sentence: 'the repository cannot be read with this cipher passphrase',
    fix: 'put back the passphrase the repository was created with',
  },
  RepoVolumeFull: { sentence: 'the repository volume is full', fix: 'expand the volume or keep fewer backups (retention)' },
  DatabaseUnreachable: { sentence: 'pgBackRest could not reach PostgreSQL through the instance', fix: 'check the primary Pod' },
  PgBackRestFailed: { sentence: 'pgBackRest failed', fix: 'read the message and the repo host log' },
} as const satisfies Record<PgFailure, ReasonEntry>;
