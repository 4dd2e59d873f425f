/**
 * `silo instance init`, the instance Pod's `bootstrap` init container: makes sure the volume holds
 * a complete datadir and a state file before the database container starts.
 *
 * - A state file: the volume is complete (initdb, recovery or clone); nothing to do.
 * - No state file but something in the datadir or WORK_DIR: a fill that stopped half-way (a killed
 *   clone, a crash during initdb). It is removed and the volume filled again; this is what makes a
 *   killed clone resumable without anyone cleaning up.
 * - Empty, primary: `mariadb-install-db` (unless SILO_BOOTSTRAP=recovery: the recovery Job fills it).
 * - Empty, replica: a clone of the primary, streamed from its instance manager (clone.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import { ConfigError } from '../contracts/config-error.js';
import { INSTANCE_VAR, type VolumeState } from '../contracts/instance-pod.js';
import type { Logger } from '../logging/logger.js';
import { cloneFromPrimary } from './clone.js';
import type { InstanceConfig } from './instance-env.js';
import { tmpDir, type InstanceLayout } from './layout.js';
import { readVolumeState, writeVolumeState } from './volume-state.js';

const execFileAsync = promisify(execFile);

const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

/** Removes a half-filled volume's datadir and working area; returns what was there, for the log. */
export function cleanHalfFilledVolume(layout: InstanceLayout): { dataDir: string[]; workDir: string[] } {
  const found = { dataDir: entries(layout.dataDir), workDir: entries(layout.workDir) };
  for (const dir of [layout.dataDir, layout.workDir]) {
    // The directories stay (they may be mount points); their contents go.
    for (const name of entries(dir)) rmSync(`${dir}/${name}`, { recursive: true, force: true });
  }
  return found;
}

async function initdb(layout: InstanceLayout, logger: Logger): Promise<void> {
  mkdirSync(layout.dataDir, { recursive: true });
  mkdirSync(tmpDir(layout), { recursive: true });
  const args = [
    '--no-defaults',
    `--datadir=${layout.dataDir}`,
    `--user=${userInfo().username}`,
    '--skip-test-db',
    '--auth-root-authentication-method=socket',
    `--tmpdir=${tmpDir(layout)}`,
  ];
  logger.info('initialising an empty database', { dataDir: layout.dataDir });
  try {
    await execFileAsync('mariadb-install-db', args, { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, TMPDIR: tmpDir(layout) } });
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ''}\n${(error as { stderr?: string }).stderr ?? ''}`.trim();
    throw new Error(`mariadb-install-db failed: ${output.split('\n').slice(-5).join(' | ') || (error as Error).message}`, {
      cause: error,
    });
  }
}

/** Fills an empty volume as the instance's role says; returns the state to write. */
async function fill(config: InstanceConfig, layout: InstanceLayout, logger: Logger): Promise<VolumeState> {
  if (config.role === 'primary') {
    if (config.bootstrap === 'recovery') {
      throw new ConfigError(
        `the volume of ${config.instanceName} has no complete datadir, and this Cluster is bootstrapped by recovery (${INSTANCE_VAR.bootstrap}=recovery): the recovery Job fills it; an empty database is never initialised in its place`,
      );
    }
    await initdb(layout, logger);
    return { origin: 'initdb', completedAt: new Date().toISOString() };
  }
  const instanceManager = config.primary?.instanceManager;
  if (!instanceManager) {
    throw new ConfigError(
      `a replica with an empty volume clones its primary: set ${INSTANCE_VAR.primaryInstanceManager} to its instance manager's URL`,
    );
  }
  const { gtid } = await cloneFromPrimary(
    { instanceManager, serverName: config.tlsServerName, instanceName: config.primary?.instanceName },
    layout,
    logger,
  );
  return {
    origin: 'clone',
    completedAt: new Date().toISOString(),
    gtid,
    ...(config.primary?.instanceName ? { clonedFrom: config.primary.instanceName } : {}),
  };
}

export async function runInit(config: InstanceConfig, layout: InstanceLayout, logger: Logger): Promise<VolumeState> {
  const existing = readVolumeState(layout.stateFile);
  if (existing) {
    logger.info('the volume is complete; nothing to do', { ...existing });
    return existing;
  }
  if (entries(layout.dataDir).length || entries(layout.workDir).length) {
    const found = cleanHalfFilledVolume(layout);
    logger.warn(
      'HALF-FILLED VOLUME: files but no state file (a clone, restore or initdb stopped before it completed); removed them and starting again',
      {
        dataDirEntries: found.dataDir.length,
        workDirEntries: found.workDir.length,
        sample: [...found.dataDir, ...found.workDir].slice(0, 10),
      },
    );
  }
  const state = await fill(config, layout, logger);
  writeVolumeState(layout.stateFile, state);
  logger.info('the volume is complete', { ...state });
  return state;
}
