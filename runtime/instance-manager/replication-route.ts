import type { IncomingMessage, ServerResponse } from 'node:http';
import { REPLICATION_PATH, STATUS, type ReplicationSourceRequest } from '../contracts/instance-manager-protocol.js';
import type { Logger } from '../logging/logger.js';
import type { Engine } from './engine.js';

/** `POST /cluster/replication`, as the shell matches it. */
export const REPLICATION_ROUTE = { method: 'POST', path: REPLICATION_PATH } as const;

/** The route's answer on a primary (the protocol's 409). */
const CONFLICT = 409;
/** A request body larger than this is not a ReplicationSourceRequest. */
const MAX_BODY_BYTES = 16 * 1024;
/** A host name or an IPv4/IPv6 address: what MASTER_HOST takes. */
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$/;

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** The body as a ReplicationSourceRequest, or the sentence a 400 answers with. */
export function parseReplicationSourceRequest(body: string): ReplicationSourceRequest | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { error: 'the body must be JSON: {"host": "<primary address>", "port": 3306}' };
  }
  const { host, port } = (parsed ?? {}) as { host?: unknown; port?: unknown };
  if (typeof host !== 'string' || !HOST.test(host)) {
    return { error: `host must be the primary's host name or IP address (got ${JSON.stringify(host)?.slice(0, 80)})` };
  }
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    return { error: `port must be a TCP port (got ${JSON.stringify(port)?.slice(0, 40)})` };
  }
  return port === undefined ? { host } : { host, port };
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * `POST /cluster/replication` (runtime/contracts/instance-manager-protocol.ts): 200 with the new
 * /status, 400 on a bad body, 409 on a primary, 404 when the engine has no replication.
 */
export async function replicationRoute(
  request: IncomingMessage,
  response: ServerResponse,
  engine: Engine,
  options: { logger: Logger; status: () => Promise<unknown> },
): Promise<void> {
  if (!engine.setReplicationSource) return json(response, 404, { error: `the ${engine.name} engine has no ${REPLICATION_PATH}` });
  const body = await readBody(request).catch(() => undefined);
  if (body === undefined) return json(response, STATUS.badRequest, { error: `the body must be at most ${MAX_BODY_BYTES} bytes of JSON` });
  const parsed = parseReplicationSourceRequest(body);
  if ('error' in parsed) return json(response, STATUS.badRequest, { error: parsed.error });
  try {
    await engine.setReplicationSource(parsed);
  } catch (error) {
    const status = (error as { status?: number }).status === CONFLICT ? CONFLICT : STATUS.failedToStart;
    options.logger.warn('replication source not changed', { host: parsed.host, error: (error as Error).message });
    return json(response, status, { error: (error as Error).message });
  }
  options.logger.info('replication source changed', { host: parsed.host, port: parsed.port });
  json(response, 200, await options.status());
}
