/**
 * mariadbd's option file, written by `silo instance db` at every start and given as
 * `--defaults-file` (so the image's own /etc/mysql is never read). SILO_MARIADB_ARGS come after it
 * on the command line and win.
 */
import { userInfo } from 'node:os';
import { MYSQL_PORT, type InstanceRole } from '../contracts/instance-pod.js';
import { initFile, pidFile, tmpDir, type InstanceLayout } from './layout.js';

export interface ServerConfigInput {
  readonly layout: InstanceLayout;
  readonly role: InstanceRole;
  readonly serverId: number;
  readonly bindAddress: string;
  readonly reportHost: string;
  /** The OS user mariadbd runs as: the container's (root on the process kubelet). */
  readonly user?: string;
}

export function serverConfig(input: ServerConfigInput): string {
  const { layout } = input;
  const options: [string, string | number | undefined][] = [
    ['datadir', layout.dataDir],
    ['socket', layout.socket],
    ['pid-file', pidFile(layout)],
    ['port', MYSQL_PORT],
    ['bind-address', input.bindAddress],
    ['user', input.user ?? userInfo().username],
    // A container's own: a shared /tmp would let another server delete this one's #sql tables.
    ['tmpdir', tmpDir(layout)],
    ['init-file', initFile(layout)],
    // No DNS between pods (and none needed): accounts match by address.
    ['skip-name-resolve', undefined],
    ['server-id', input.serverId],
    ['report-host', input.reportHost],
    // Binary logs with GTIDs on every instance, so any replica can become the primary.
    ['log-bin', 'mysql-bin'],
    ['relay-log', 'relay-bin'],
    ['log-slave-updates', undefined],
    ['binlog-format', 'ROW'],
    ['gtid-strict-mode', 'ON'],
    ['read-only', input.role === 'replica' ? 'ON' : 'OFF'],
  ];
  return ['[mariadbd]', ...options.map(([name, value]) => (value === undefined ? name : `${name}=${value}`)), ''].join('\n');
}
