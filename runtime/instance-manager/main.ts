import { readFileSync } from 'node:fs';
import type { Logger } from '../logging/logger.js';
import { ConfigError } from '../workers/exit-codes.js';
import { required, type Env } from '../workers/worker-env.js';
import { createInstanceManagerServer } from './server.js';

/** Starts the sidecar from env; it listens on the pod IP (loopback pods share ports) and stops on SIGTERM. */
export async function runInstanceManager(env: Env, logger: Logger): Promise<void> {
  const read = (name: string) => {
    const path = required(env, name, 'mount the Cluster\'s PKI Secret and point it at the file');
    try { return readFileSync(path, 'utf8'); } catch { throw new ConfigError(`${name} points at ${path}, which cannot be read`); }
  };
  const port = Number(env.SILO_IM_PORT ?? '8443');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`SILO_IM_PORT must be a TCP port (got ${JSON.stringify(env.SILO_IM_PORT)})`);
  const zstd = env.SILO_IM_ZSTD ?? 'auto';
  if (zstd !== 'auto' && zstd !== 'in-process') throw new ConfigError(`SILO_IM_ZSTD must be auto or in-process (got ${JSON.stringify(zstd.slice(0, 40))})`);
  const server = createInstanceManagerServer({
    tls: { key: read('SILO_IM_TLS_KEY_FILE'), cert: read('SILO_IM_TLS_CERT_FILE'), clientCa: read('SILO_IM_CLIENT_CA_FILE') },
    connection: { socket: env.SILO_DB_SOCKET, host: env.SILO_DB_HOST, port: env.SILO_DB_PORT ? Number(env.SILO_DB_PORT) : undefined, user: env.SILO_DB_USER ?? 'root', passwordFile: env.SILO_DB_PASSWORD_FILE },
    logger, instanceName: env.POD_NAME ?? 'instance', zstd,
  });
  const host = env.SILO_IM_HOST ?? env.POD_IP ?? '0.0.0.0';
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  logger.info('instance manager listening', { host, port });
  await new Promise<void>((resolve) => process.once('SIGTERM', () => server.close(() => resolve())));
}
