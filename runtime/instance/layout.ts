/**
 * Where `silo instance init|db` read and write: the paths of runtime/contracts/instance-pod.ts,
 * gathered in one object so tests run the same code on a temporary directory.
 */
import { join } from 'node:path';
import { DATA_DIR, MOUNTS, RUN_DIR, SOCKET, STATE_FILE, WORK_DIR } from '../contracts/instance-pod.js';

export interface InstanceLayout {
  readonly dataDir: string;
  readonly workDir: string;
  readonly stateFile: string;
  readonly runDir: string;
  readonly socket: string;
  readonly mounts: { readonly systemUsers: string; readonly appUser: string; readonly serverCa: string; readonly replicationTls: string };
}

export const POD_LAYOUT: InstanceLayout = {
  dataDir: DATA_DIR,
  workDir: WORK_DIR,
  stateFile: STATE_FILE,
  runDir: RUN_DIR,
  socket: SOCKET,
  mounts: { systemUsers: MOUNTS.systemUsers, appUser: MOUNTS.appUser, serverCa: MOUNTS.serverCa, replicationTls: MOUNTS.replicationTls },
};

/** The database's temporary directory: a container's own (see test/stack/kubelet/entrypoints/mariadb.sh on #sql tables). */
export const tmpDir = (layout: InstanceLayout): string => join(layout.runDir, 'tmp');
/** The staging folder a clone streams into and prepares in, on the datadir's filesystem. */
export const cloneDir = (layout: InstanceLayout): string => join(layout.workDir, 'clone');
export const configFile = (layout: InstanceLayout): string => join(layout.runDir, 'my.cnf');
export const initFile = (layout: InstanceLayout): string => join(layout.runDir, 'init.sql');
export const pidFile = (layout: InstanceLayout): string => join(layout.runDir, 'mariadbd.pid');
