import type { Logger } from '../logging/logger.js';
import type { Env } from '../contracts/worker-env.js';
import { decodeInstanceManagerEnv } from '../contracts/worker-env.js';
import { createEngine } from './engines/index.js';
import { createInstanceManagerServer } from './server.js';

/**
 * Starts the sidecar from env; it listens on the pod IP (loopback pods share ports) and stops on SIGTERM.
 * SILO_IM_ENGINE picks the database engine (only `mysql` exists, and is the default).
 */
export async function runInstanceManager(env: Env, logger: Logger): Promise<void> {
  const config = decodeInstanceManagerEnv(env);
  const engine = createEngine(config.engine, {
    connection: config.connection,
    backupUser: config.backupUser,
    replicationUser: config.replicationUser,
    instanceName: config.instanceName,
  });
  // The certificate files are re-read every 30 s: a renewed certificate is served without a restart (decision 0260).
  const server = createInstanceManagerServer({
    tls: config.tls,
    tlsFiles: config.tls.files,
    engine,
    logger,
    instanceName: config.instanceName,
    zstd: config.zstd,
  });
  const { host, port } = config;
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  logger.info('instance manager listening', { host, port, engine: engine.name });
  await new Promise<void>((resolve) => process.once('SIGTERM', () => server.close(() => resolve())));
}
