/**
 * The instance Pod of a MySQL/MariaDB Cluster, as the Cluster reconciler builds it
 * (runtime/controller/mysql/cluster/) and as the commands inside it read it
 * (`silo instance init|db`, `silo instance-manager`, `silo restore physical` in the recovery Job).
 * Both sides import this file, never each other (docs/decisions/0020).
 *
 * One PVC per instance, named like the instance (`<cluster>-<serial>`), mounted at PVC_MOUNT.
 * The datadir and Silo's own working area share that filesystem, so a restore or a clone
 * moves prepared files into place with rename(2) instead of copying them.
 */

/** Where the instance's PVC is mounted, in every container and in the recovery Job. */
export const PVC_MOUNT = '/var/lib/mysql';
/** The MariaDB datadir inside the PVC. */
export const DATA_DIR = `${PVC_MOUNT}/data`;
/** Silo's working area inside the PVC (clone and restore staging, the state file). */
export const WORK_DIR = `${PVC_MOUNT}/silo`;
/**
 * The volume's state, written last by whatever filled the datadir (JSON, `VolumeState`).
 * The database container refuses to start a datadir without it: a half-restored or
 * half-cloned volume is never started.
 */
export const STATE_FILE = `${WORK_DIR}/state.json`;
/**
 * The group that owns the instance's volumes (the Pod's fsGroup): the instance image runs as `mysql`,
 * uid and gid 999 (images/Containerfile), and must be able to write a freshly provisioned PVC.
 */
export const INSTANCE_FS_GROUP = 999;
/** The socket directory shared by the database and the instance manager (an emptyDir). */
export const RUN_DIR = '/run/mysqld';
export const SOCKET = `${RUN_DIR}/mysqld.sock`;
export const MYSQL_PORT = 3306;

/** Secret mounts (read-only). */
export const MOUNTS = {
  serverTls: '/var/run/silo/server-tls',
  serverCa: '/var/run/silo/server-ca',
  clientCa: '/var/run/silo/client-ca',
  /** The replication client certificate a joining replica presents to the primary's instance manager. */
  replicationTls: '/var/run/silo/replication-tls',
  /** The system users' passwords, one file per user (SYSTEM_USERS keys). */
  systemUsers: '/var/run/silo/system-users',
  /** The app user's kubernetes.io/basic-auth Secret (username, password), when bootstrap.initdb asks for one. */
  appUser: '/var/run/silo/app-user',
} as const;

/** Operator-owned database users; each key is a file in the `<cluster>-system-users` Secret. */
export const SYSTEM_USERS = {
  /** The instance manager: status, replication control, and the backups it streams. */
  manager: 'silo_manager',
  replication: 'silo_replication',
  /** mariabackup's connection (RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, …). */
  backup: 'silo_backup',
} as const;
export type SystemUserKey = keyof typeof SYSTEM_USERS;

export type InstanceRole = 'primary' | 'replica';

/** How the datadir on a volume came to be; the database container reads it before starting. */
export interface VolumeState {
  /** initdb: an empty database was initialised; recovery: restored from a backup; clone: copied from the primary. */
  readonly origin: 'initdb' | 'recovery' | 'clone';
  /** ISO time the datadir became complete. */
  readonly completedAt: string;
  /** The GTID position the datadir holds (recovery and clone: from mariabackup's binlog info). */
  readonly gtid?: string;
  /** recovery: the backup ID restored (the last link of the chain). */
  readonly backupId?: string;
  /** clone: the instance it was cloned from. */
  readonly clonedFrom?: string;
}

/** Env of the database container and the init container (`silo instance init|db`). */
export const INSTANCE_VAR = {
  cluster: 'SILO_CLUSTER',
  instanceName: 'SILO_INSTANCE_NAME',
  role: 'SILO_INSTANCE_ROLE',
  serverId: 'SILO_SERVER_ID',
  /** A replica's primary: its pod IP (no DNS on the test stack) and its instance manager's URL. */
  primaryHost: 'SILO_PRIMARY_HOST',
  primaryInstanceManager: 'SILO_PRIMARY_INSTANCE_MANAGER',
  /** The primary's instance name, recorded as `clonedFrom` in the state file. */
  primaryInstanceName: 'SILO_PRIMARY_INSTANCE_NAME',
  /**
   * `recovery` on the first primary of a Cluster bootstrapped from a backup: an empty volume is an
   * error (the recovery Job fills it), never a reason to initialise an empty database. Default `initdb`.
   */
  bootstrap: 'SILO_BOOTSTRAP',
  /** The DNS name every instance manager's certificate carries (`<cluster>-instance-manager`). */
  tlsServerName: 'SILO_TLS_SERVER_NAME',
  appDatabase: 'SILO_APP_DATABASE',
  /** Extra mariadbd options, as one JSON array of strings (tests size the buffer pool down). */
  extraArgs: 'SILO_MARIADB_ARGS',
} as const;

/** Pod labels and annotations (decision 0220 and the Cluster reconciler). */
export const LABELS = {
  cluster: 'mysql.cloudnative-mysql.io/cluster',
  instanceRole: 'mysql.cloudnative-mysql.io/instance-role',
  instanceName: 'mysql.cloudnative-mysql.io/instance-name',
  /** "true" on a replica that is replicating without error: selected by the read-only Service. */
  serving: 'mysql.cloudnative-mysql.io/serving',
} as const;

export const ANNOTATIONS = {
  replicationLag: 'mysql.cloudnative-mysql.io/replication-lag-seconds',
  serverId: 'mysql.cloudnative-mysql.io/server-id',
  /** The instance's serial (`<cluster>-<serial>`), on its Pod and its PVC. */
  serial: 'mysql.cloudnative-mysql.io/serial',
} as const;

/** Init container and container names. */
export const CONTAINERS = { init: 'bootstrap', database: 'mariadb', instanceManager: 'instance-manager' } as const;
