/** The volume's state file (runtime/contracts/instance-pod.ts STATE_FILE): read before anything starts, written last. */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../contracts/config-error.js';
import type { VolumeState } from '../contracts/instance-pod.js';

const ORIGINS: readonly VolumeState['origin'][] = ['initdb', 'recovery', 'clone'];

/** The state, or undefined when there is no file. A file that is not a VolumeState is an error, never "no state". */
export function readVolumeState(file: string): VolumeState | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: Partial<VolumeState>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file} is not JSON (${(error as Error).message}); it was not written by Silo, or the disk is damaged`);
  }
  if (!parsed || !ORIGINS.includes(parsed.origin as VolumeState['origin'])) {
    throw new ConfigError(`${file} has no origin of ${ORIGINS.join(', ')}; it was not written by Silo`);
  }
  return parsed as VolumeState;
}

/**
 * Writes the state durably and atomically: a temporary file, fsync, rename, fsync of the directory.
 * A crash leaves either no state file (the volume is filled again) or the whole one.
 */
export function writeVolumeState(file: string, state: VolumeState): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  const fd = openSync(temporary, 'w', 0o644);
  try {
    writeSync(fd, JSON.stringify(state, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
