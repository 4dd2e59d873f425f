/** `silo instance init|db`: the commands inside an instance Pod (runtime/contracts/instance-pod.ts). */
import { ConfigError } from '../contracts/config-error.js';
import type { Env } from '../contracts/worker-env.js';
import type { Logger } from '../logging/logger.js';
import { runDb } from './db.js';
import { runInit } from './init.js';
import { decodeInstanceEnv } from './instance-env.js';
import { POD_LAYOUT, type InstanceLayout } from './layout.js';

/** Runs `silo instance <mode>` and resolves with the process's exit status. */
export async function runInstanceCommand(
  mode: string | undefined,
  env: Env,
  logger: Logger,
  layout: InstanceLayout = POD_LAYOUT,
): Promise<number> {
  if (mode !== 'init' && mode !== 'db') throw new ConfigError(`unknown command "instance ${mode ?? ''}"; use instance init or instance db`);
  const config = decodeInstanceEnv(env);
  const log = logger.child({ instance: config.instanceName, role: config.role });
  if (mode === 'init') {
    await runInit(config, layout, log);
    return 0;
  }
  return runDb(config, layout, log);
}
