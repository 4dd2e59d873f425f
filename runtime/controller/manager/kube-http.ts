/**
 * Raw JSON requests to the API server with the KubeConfig's credentials.
 * The informers, the Lease and the Events use it instead of client-node's typed
 * clients: typed clients turn timestamps into Date objects (so a listed object
 * would differ from a watched one) and mis-serialise MicroTime fields.
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KindRef } from '../reconciler.js';

/** An API server answer other than 2xx; `code` mirrors client-node's ApiException. */
export class KubeHttpError extends Error {
  constructor(
    readonly code: number,
    readonly method: string,
    readonly path: string,
    readonly reason: string,
    message: string,
  ) {
    super(`${method} ${path}: ${code} ${reason}: ${message}`);
    this.name = 'KubeHttpError';
  }
}

export interface KubeRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

/** Sends one request; resolves with the parsed JSON body, rejects with KubeHttpError on non-2xx. */
export async function kubeRequest<T = unknown>(kc: KubeConfig, path: string, req: KubeRequest = {}): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster; set KUBECONFIG or run in a pod with a ServiceAccount token');
  const url = new URL(cluster.server + path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const method = req.method ?? 'GET';
  const options: RequestOptions & Record<string, unknown> = { method, headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options as never);
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers = options.headers as Record<string, string | number>;
  if (payload) {
    headers['Content-Type'] = req.contentType ?? 'application/json';
    headers['Content-Length'] = payload.length;
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const r = send(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(body as T);
        reject(
          new KubeHttpError(status, method, url.pathname, body?.reason ?? res.statusMessage ?? '', body?.message ?? text.slice(0, 300)),
        );
      });
    });
    r.setTimeout(req.timeoutMs ?? 30_000, () =>
      r.destroy(new Error(`${method} ${url.pathname}: no answer within ${req.timeoutMs ?? 30_000} ms`)),
    );
    r.on('error', reject);
    if (payload) r.write(payload);
    r.end();
  });
}

/** REST path of a kind's collection, in one namespace or across all. */
export function collectionPath(kind: KindRef, namespace?: string): string {
  const base = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
  return kind.namespaced && namespace ? `${base}/namespaces/${namespace}/${kind.plural}` : `${base}/${kind.plural}`;
}

export const isHttpCode = (error: unknown, code: number): boolean =>
  typeof error === 'object' &&
  error !== null &&
  ((error as { code?: unknown }).code === code || (error as { statusCode?: unknown }).statusCode === code);
