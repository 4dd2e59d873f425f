/**
 * What the PGCluster reconciler and the commands inside a PostgreSQL cluster's Pods agree on
 * (`silo pg instance`, `silo pg repo-host`, `silo pg backup`): names, ports, paths, environment
 * variables, and the repo host agent's protocol. Decisions 0270 (TLS wiring) and 0271 (repo host).
 */

/** The one stanza of a cluster in each of its repositories (Percona's operator calls it `db` too). */
export const PG_STANZA = 'db';
/**
 * The image's postgres user and group (999:999, images/Containerfile's postgres-instance target). PGDATA and
 * volume repositories are given to that group (fsGroup), so a fresh PVC is writable by the image's user; initdb
 * refuses to run as root, and PostgreSQL refuses a PGDATA others can read.
 */
export const PG_USER_ID = 999;
export const PG_PORT = 5432;
/** `pgbackrest server` on every instance and on the repo host (pgBackRest's default port). */
export const PGBACKREST_SERVER_PORT = 8432;
/** The repo host agent: HTTPS with mutual TLS, for the operator and the backup Jobs. */
export const REPO_AGENT_PORT = 8443;

/** The instance's PVC, and PGDATA inside it. */
export const PG_VOLUME_MOUNT = '/pgdata';
export const PGDATA = '/pgdata/pg15';
/** pgBackRest's async archive spool, on the PVC: WAL queued for the repo host survives a restart. */
export const PG_SPOOL = '/pgdata/pgbackrest-spool';
/** Socket, config, copies of the TLS files, locks: a per-Pod emptyDir. */
export const PG_RUN_DIR = '/var/run/silo-pg';
export const PG_SOCKET_DIR = PG_RUN_DIR;
/** Where the operator's TLS Secret (tls.crt, tls.key, ca.crt) is mounted in every Pod of the cluster. */
export const PG_TLS_MOUNT = '/etc/silo/pgbackrest-tls';
/** The superuser's password (key `password`), mounted in the instance Pod only. */
export const PG_SUPERUSER_MOUNT = '/etc/silo/pg-superuser';
/** A volume repository `repoN` is mounted at `/pgbackrest/repoN` on the repo host. */
export const repoVolumeMount = (repo: string): string => `/pgbackrest/${repo}`;
/** A CA bundle for a repository's object store, `/etc/silo/repo-ca/repoN/ca.crt`. */
export const repoCaMount = (repo: string): string => `/etc/silo/repo-ca/${repo}`;
/** A GCS service account key, `/etc/silo/repo-gcs/repoN/key.json`. */
export const repoGcsKeyMount = (repo: string): string => `/etc/silo/repo-gcs/${repo}`;

/** The client certificates' common names, each authorised for the stanza by `tls-server-auth`. */
export const PG_CN = {
  /** Instances: `pgbackrest server` (dialed by the repo host) and archive-push (dials the repo host). */
  instance: 'silo-pg-instance',
  /** The repo host: its `pgbackrest server` (dialed by instances) and backup/check (dial the instance). */
  repoHost: 'silo-pg-repo-host',
  /** The operator and the backup Jobs, calling the repo host agent. */
  backup: 'silo-pg-backup',
} as const;

/** Environment of the Pods' commands. */
export const PG_VAR = {
  /** The whole pgbackrest.conf, without secrets (storage credentials come as PGBACKREST_REPOn_* variables). */
  pgbackrestConf: 'SILO_PGBACKREST_CONF',
  /** JSON: extra `-c name=value` settings of postgres. */
  postgresSettings: 'SILO_PG_SETTINGS',
  /** The pod IP (downward API): postgres, pgbackrest server and the agent listen on it. */
  podIp: 'POD_IP',
  /** Repositories on a volume (JSON array of repoN), so the repo host makes them writable for pgBackRest. */
  volumeRepos: 'SILO_PG_VOLUME_REPOS',
  // silo pg backup:
  agentUrl: 'SILO_PG_AGENT_URL',
  /** The name in the repo host's certificate (the agent is dialed by IP, checked by this name). */
  agentServerName: 'SILO_PG_AGENT_SERVER_NAME',
  backupRequest: 'SILO_PG_BACKUP_REQUEST',
} as const;

/** Names of a cluster's objects. */
export const pgNames = (cluster: string) => ({
  primary: `${cluster}-1`,
  repoHost: `${cluster}-repo-host`,
  /** Headless Services: the subdomains of the instances' and the repo host's DNS names. */
  instancesService: `${cluster}-instances`,
  repoService: `${cluster}-repo`,
  caSecret: `${cluster}-pgbackrest-ca`,
  instanceTlsSecret: `${cluster}-pgbackrest-instance-tls`,
  repoHostTlsSecret: `${cluster}-pgbackrest-repo-host-tls`,
  backupTlsSecret: `${cluster}-pgbackrest-backup-tls`,
  superuserSecret: `${cluster}-pguser-postgres`,
  repoVolume: (repo: string) => `${cluster}-${repo}`,
});

/** The DNS name of a Pod with hostname `pod` and subdomain `service` (a headless Service). */
export const podDnsName = (pod: string, service: string, namespace: string): string => `${pod}.${service}.${namespace}.svc`;

// ---------------------------------------------------------------------------------------------
// The repo host agent's protocol (decision 0272)

export const AGENT_PATHS = {
  status: '/status',
  stanza: '/stanza',
  check: '/check',
  backup: '/backup',
  /** The running backup's Job is there (BACKUP_STREAM). */
  backupAlive: '/backup-alive',
} as const;

/** POST /stanza and POST /check: one repository. */
export interface RepoRequest {
  readonly repo: number;
}

/** POST /backup */
export interface BackupRequest {
  readonly repo: number;
  readonly type: 'full' | 'differential' | 'incremental';
  /** Stored with the backup (`--annotation silo-backup=<value>`), so `info` finds it again. */
  readonly annotation: string;
  readonly options: readonly string[];
}

/**
 * POST /backup's answer is pgBackRest's output as it comes, then one line `RESULT <CommandOutcome JSON>`. pgBackRest
 * prints nothing at info level while it copies (an hour, for a large cluster), so the agent also writes a heartbeat
 * line every `heartbeatMs` while it runs and says so in the `heartbeatHeader` of its answer; a Job that hears nothing
 * for `silenceMs` then knows the repo host or the way to it is lost (its node gone, the network cut), where TCP alone
 * would wait until the Job's deadline. The other way, a Job that hears that header posts its annotation to `AGENT_PATHS.backupAlive`
 * every `heartbeatMs`; once it has, the agent stops the backup when the Job closes the stream or stays silent for
 * `silenceMs` (its node lost: no FIN reaches the agent) (decision 0272, amended).
 */
export const BACKUP_STREAM = {
  resultPrefix: 'RESULT ',
  heartbeatLine: 'SILO-AGENT-ALIVE',
  heartbeatHeader: 'x-silo-heartbeat-ms',
  heartbeatMs: 10_000,
  silenceMs: 60_000,
} as const;

/** POST /backup-alive: the Job of the running backup is there. 200 while that backup runs, else 410. */
export interface BackupAliveRequest {
  readonly annotation: string;
}

/** The key of the annotation Silo stores with every backup it takes. */
export const BACKUP_ANNOTATION_KEY = 'silo-backup';

/** How a pgBackRest command ended, its cause read from its output (pgBackRest hides it behind a generic code). */
export interface CommandOutcome {
  readonly ok: boolean;
  readonly exitCode: number | null;
  /** A reason of runtime/contracts/pg-pods.ts's PG_FAILURES, when it failed. */
  readonly reason?: PgFailure;
  /** pgBackRest's line that names the cause (or its last line), never a secret. */
  readonly message?: string;
  /** What to do about it, for readers without the reason table (the Job's log). */
  readonly fix?: string;
}

/** GET /status */
export interface AgentStatus {
  /** `pgbackrest info --output=json`'s array, as pgBackRest printed it. */
  readonly info: unknown;
  readonly infoError?: string;
  /** A backup the agent is running now. */
  readonly running?: string;
  /**
   * Repositories whose storage the repo host could not read in that info (pgBackRest's status 99), each with
   * its cause as a reason (an object store down: StorageUnreachable) and pgBackRest's words, never a secret.
   */
  readonly repoFailures?: readonly RepoFailure[];
}

/** One repository pgBackRest's info could not read. */
export interface RepoFailure {
  readonly repo: number;
  readonly reason: PgFailure;
  readonly message: string;
}

/** pgBackRest failure causes Silo tells apart; each is a reason of PGCluster or PGBackup. */
export const PG_FAILURES = [
  'StanzaMismatch',
  'LockBusy',
  'ArchiveTimeout',
  'RepoHostUnreachable',
  'StorageUnreachable',
  'ClientNotAuthorized',
  'UnknownCA',
  'NoClientCertificate',
  'StorageAuthFailed',
  'BucketMissing',
  'CipherMismatch',
  'RepoVolumeFull',
  'DatabaseUnreachable',
  'PgBackRestFailed',
] as const;
export type PgFailure = (typeof PG_FAILURES)[number];

/** Where `silo pg instance|repo-host` copy the TLS files (owned by postgres, 0600) and write pgbackrest.conf. */
export const PG_TLS_COPY = { cert: `${PG_RUN_DIR}/tls/tls.crt`, key: `${PG_RUN_DIR}/tls/tls.key`, ca: `${PG_RUN_DIR}/tls/ca.crt` } as const;
export const PGBACKREST_CONF_FILE = `${PG_RUN_DIR}/pgbackrest.conf`;

// ---------------------------------------------------------------------------------------------
// Streaming replicas (decisions 0274, 0275)

/** The role replicas log in as: REPLICATION LOGIN, authenticated by the instance certificate (pg_ident maps its CN). */
export const PG_REPLICATION_USER = 'streaming_replica';

/** Instance `n` of a cluster: `<cluster>-1` is the primary, `<cluster>-2` onwards are replicas. */
export const pgInstanceName = (cluster: string, ordinal: number): string => `${cluster}-${ordinal}`;

/** The physical replication slot the primary keeps for a replica (slot names take lowercase letters, digits and `_`). */
export const pgReplicationSlot = (instance: string): string => `silo_${instance.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);

/** Environment of a replica's `silo pg instance` (absent on the primary). */
export const PG_REPLICA_VAR = {
  /** The primary's DNS name (its certificate's), which pg_basebackup and the WAL receiver dial. */
  primaryHost: 'SILO_PG_PRIMARY_HOST',
  /** This replica's slot on the primary. */
  slot: 'SILO_PG_REPLICATION_SLOT',
  /** This replica's instance name: its application_name in the primary's pg_stat_replication. */
  instance: 'SILO_PG_INSTANCE',
} as const;
