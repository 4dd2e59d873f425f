import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, readdirSync, renameSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../logging/logger.js';
import type { ObjectStore } from '../objectstore/object-store.js';
import type { CompressionAlgorithm } from './stages/compression.js';
import type { Command, EngineDescriptor } from '../contracts/engines.js';
import { ProcessSink } from './sinks/process-sink.js';
import { streamRestore } from './restore-pipeline.js';

const execFileAsync = promisify(execFile);

export class PrepareFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrepareFailedError';
  }
}

/** One link of a backup chain, oldest (the full backup) first. */
export interface ChainLink {
  readonly key: string;
  readonly sha256: string;
  readonly compression: CompressionAlgorithm;
  readonly backupId: string;
}

export interface PhysicalRestoreOptions {
  readonly store: ObjectStore;
  readonly chain: ChainLink[];
  /** Working area; extracted backups are staged here and promoted only once verified. */
  readonly workDir: string;
  /** Empty data directory that receives the prepared files (copy-back). */
  readonly dataDir: string;
  readonly identity?: string;
  readonly logger: Logger;
  /** The engine that wrote the chain: its extract, prepare and copy-back commands (runtime/contracts/engines.ts). */
  readonly engine: EngineDescriptor;
  /** Overrides the engine's prepare tool (e.g. xtrabackup instead of mariabackup). */
  readonly tool?: string;
}

const extractSink = (extract: Command, options: ConstructorParameters<typeof ProcessSink>[2]) =>
  new ProcessSink(extract.command, [...extract.args], options);

async function runTool(tool: string, args: string[], what: string): Promise<void> {
  try {
    await execFileAsync(tool, args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    throw new PrepareFailedError(`${what} failed: ${stderr || (error as Error).message}`);
  }
}

/**
 * Download → verify → extract → prepare (applying incrementals in order) →
 * copy-back, with the engine's commands (mysql: mbstream, mariabackup). Each
 * archive is extracted into a staging folder that is promoted (renamed) only
 * after its SHA256 matched; the extractor is killed before EOF on a mismatch
 * and the staging folder is removed.
 */
export async function restorePhysicalChain(options: PhysicalRestoreOptions): Promise<void> {
  const { restore } = options.engine;
  const tool = options.tool ?? restore.tool;
  if (!options.chain.length) throw new Error('restore chain is empty');
  if (existsSync(options.dataDir) && readdirSync(options.dataDir).length) {
    throw new Error(`data directory ${options.dataDir} is not empty; restore only into an empty directory`);
  }
  mkdirSync(options.workDir, { recursive: true });
  const verified: string[] = [];
  for (const [index, link] of options.chain.entries()) {
    const staging = join(options.workDir, `staging-${index}`);
    const promoted = join(options.workDir, `verified-${index}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      await streamRestore({
        store: options.store,
        key: link.key,
        expectedSha256: link.sha256,
        compression: link.compression,
        identity: options.identity,
        sink: extractSink(restore.extract(staging), { logger: options.logger.child({ step: 'extract', backupId: link.backupId }) }),
      });
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    renameSync(staging, promoted);
    verified.push(promoted);
    options.logger.info('backup verified and extracted', { backupId: link.backupId, position: index });
  }
  const [base, ...increments] = verified;
  await runTool(tool, restore.prepareArgs(base), `${tool} --prepare of ${options.chain[0].backupId}`);
  for (const [i, increment] of increments.entries()) {
    await runTool(tool, restore.prepareArgs(base, increment), `${tool} --prepare of incremental ${options.chain[i + 1].backupId}`);
  }
  mkdirSync(options.dataDir, { recursive: true });
  await runTool(tool, restore.copyBackArgs(base, options.dataDir), `${tool} --copy-back into ${options.dataDir}`);
  options.logger.info('restore copied back', { dataDir: options.dataDir, links: options.chain.length });
}
