import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import type { Client as MinioClient } from 'minio';
import type { Component, StackContext } from '../component.js';
import { goBinPath, goInstallCached } from '../lib/go.js';
import { LOOPBACK, ports } from '../lib/ports.js';
import { logTail, pidFileAlive, spawnDaemon, stopByPidFile } from '../lib/proc.js';
import { pruneOlderThan, STALE_TEST_DATA_MS } from '../lib/prune.js';
import type { S3Endpoint } from '../lib/s3.js';
import { httpStatus, waitForHttp } from '../lib/wait.js';
import { ensureTestCa, testCaPaths } from '../tls/ca.js';
import { versions } from '../versions.js';

export const MINIO_ACCESS_KEY = 'silo-minio';
export const MINIO_SECRET_KEY = 'silo-minio-secret';
export const MINIO_BUCKET = 'silo-test';

/** Two MinIO servers: one plain HTTP, one TLS with the test CA ("localhost" hostname for pgBackRest). */
const instances = [
  { id: 'http', port: ports.minioHttp, console: ports.minioHttpConsole, tls: false },
  { id: 'tls', port: ports.minioTls, console: ports.minioTlsConsole, tls: true },
] as const;

type Instance = (typeof instances)[number];

const dir = (ctx: StackContext, i: Instance) => join(ctx.root, 'minio', i.id);
const pidFile = (ctx: StackContext, i: Instance) => join(dir(ctx, i), 'minio.pid');
const logFile = (ctx: StackContext, i: Instance) => join(ctx.logDir, `minio-${i.id}.log`);
const url = (i: Instance) => (i.tls ? `https://localhost:${i.port}` : `http://${LOOPBACK}:${i.port}`);

export function minioEndpoint(ctx: StackContext, tls = false): S3Endpoint {
  const i = instances[tls ? 1 : 0];
  return {
    endpoint: url(i),
    accessKeyId: MINIO_ACCESS_KEY,
    secretAccessKey: MINIO_SECRET_KEY,
    caFile: tls ? testCaPaths(ctx).caCert : undefined,
  };
}

/**
 * `mc`, for what MinIO's JavaScript client cannot do: the admin API (`mc admin`: users, policies,
 * server info, heal) and shell pipelines (`mc pipe`/`mc cat`, the benchmarks' baselines).
 */
export const mcPath = (ctx: StackContext) => goBinPath(ctx, 'mc', versions.mc);

/**
 * MinIO's own JavaScript client on one of the stack's MinIO servers, for administering it:
 * buckets, versioning, object lock, incomplete multipart uploads. Loaded on first use, so
 * the processes that only read the stack's endpoints never load it.
 */
export async function minioClient(ctx: StackContext, tls = false): Promise<MinioClient> {
  const { Client } = await import('minio');
  const e = minioEndpoint(ctx, tls);
  const url = new URL(e.endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: tls,
    accessKey: e.accessKeyId,
    secretKey: e.secretAccessKey,
    region: 'us-east-1',
    pathStyle: true,
    transportAgent: e.caFile ? new Agent({ ca: readFileSync(e.caFile) }) : undefined,
  });
}

export interface MinioBucketOptions {
  /** Keep every version of every object (S3 versioning). */
  versioning?: boolean;
  /** Create the bucket with object lock (which also turns versioning on); only possible at creation. */
  objectLock?: boolean;
}

/** Creates the bucket unless it exists, then turns versioning on if asked. */
export async function ensureMinioBucket(client: MinioClient, bucket: string, opts: MinioBucketOptions = {}): Promise<void> {
  if (!(await client.bucketExists(bucket))) {
    await client.makeBucket(bucket, 'us-east-1', opts.objectLock ? { ObjectLocking: true } : undefined);
  }
  if (opts.versioning) await client.setBucketVersioning(bucket, { Status: 'Enabled' });
}

export interface IncompleteUpload {
  key: string;
  uploadId: string;
}

/**
 * Multipart uploads of one object that were started and neither completed nor aborted.
 * MinIO lists uploads only by the object's full key: a shorter prefix finds none
 * (decision 0117 has the same observation for ListMultipartUploads).
 */
export async function incompleteUploads(client: MinioClient, bucket: string, key: string): Promise<IncompleteUpload[]> {
  const found: IncompleteUpload[] = [];
  for await (const item of client.listIncompleteUploads(bucket, key, true)) found.push({ key: item.key, uploadId: item.uploadId });
  return found;
}

/** Aborts every incomplete multipart upload of one object; returns how many there were. */
export async function abortIncompleteUploads(client: MinioClient, bucket: string, key: string): Promise<number> {
  const uploads = await incompleteUploads(client, bucket, key);
  if (uploads.length > 0) await client.removeIncompleteUpload(bucket, key);
  return uploads.length;
}

async function healthy(ctx: StackContext, i: Instance): Promise<boolean> {
  if (!pidFileAlive(pidFile(ctx, i))) return false;
  const ca = i.tls ? testCaPaths(ctx).caCert : undefined;
  try {
    return (await httpStatus(`${url(i)}/minio/health/live`, { ca: ca ? readFileSync(ca) : undefined })) === 200;
  } catch {
    return false;
  }
}

export const minio: Component = {
  name: 'minio',
  async install(ctx) {
    await goInstallCached(ctx, 'github.com/minio/minio', versions.minio, 'minio');
    // mc is not needed by the server or the tests (they use minioClient); benchmarks and shell users use `mc pipe`.
    await goInstallCached(ctx, 'github.com/minio/mc', versions.mc, 'mc');
  },
  async up(ctx) {
    const ca = await ensureTestCa(ctx);
    for (const i of instances) {
      if (await healthy(ctx, i)) continue;
      const data = join(dir(ctx, i), 'data');
      const certsDir = join(dir(ctx, i), 'certs');
      mkdirSync(data, { recursive: true });
      // MinIO moves deleted objects to this trash and purges it slowly; after a few 20 GiB benchmark runs it
      // held 33 GB and MinIO refused writes ("minimum free drive threshold"). Nothing in it is ever read back.
      rmSync(join(data, '.minio.sys', 'tmp', '.trash'), { recursive: true, force: true });
      pruneOlderThan(join(data, MINIO_BUCKET), STALE_TEST_DATA_MS);
      const args = ['server', '--address', `${LOOPBACK}:${i.port}`, '--console-address', `${LOOPBACK}:${i.console}`];
      if (i.tls) {
        // MinIO reads public.crt/private.key from --certs-dir; copy ours in under those names.
        mkdirSync(join(certsDir, 'CAs'), { recursive: true });
        copyFileSync(ca.serverCert, join(certsDir, 'public.crt'));
        copyFileSync(ca.serverKey, join(certsDir, 'private.key'));
        copyFileSync(ca.caCert, join(certsDir, 'CAs', 'ca.crt'));
        args.push('--certs-dir', certsDir);
      }
      args.push(data);
      spawnDaemon({
        cmd: goBinPath(ctx, 'minio', versions.minio),
        args,
        pidFile: pidFile(ctx, i),
        logFile: logFile(ctx, i),
        env: {
          ...process.env,
          MINIO_ROOT_USER: MINIO_ACCESS_KEY,
          MINIO_ROOT_PASSWORD: MINIO_SECRET_KEY,
          // No phoning home from a test machine.
          MINIO_UPDATE: 'off',
          MINIO_CALLHOME_ENABLE: 'off',
          MINIO_BROWSER: 'off',
        },
      });
      try {
        await waitForHttp(`${url(i)}/minio/health/ready`, 60_000, {
          pidFile: pidFile(ctx, i),
          ca: i.tls ? readFileSync(ca.caCert) : undefined,
          ok: (s) => s === 200,
        });
      } catch (e) {
        throw new Error(`minio (${i.id}) did not become ready: ${(e as Error).message}\n${logTail(logFile(ctx, i))}`, { cause: e });
      }
      await ensureMinioBucket(await minioClient(ctx, i.tls), MINIO_BUCKET);
    }
  },
  async down(ctx) {
    for (const i of instances) await stopByPidFile(pidFile(ctx, i));
  },
  async status(ctx) {
    for (const i of instances) if (!(await healthy(ctx, i))) return false;
    return true;
  },
  env(ctx) {
    const http = minioEndpoint(ctx, false);
    const tls = minioEndpoint(ctx, true);
    return {
      MINIO_ENDPOINT: http.endpoint,
      MINIO_TLS_ENDPOINT: tls.endpoint,
      MINIO_ACCESS_KEY,
      MINIO_SECRET_KEY,
      MINIO_BUCKET,
      MINIO_CA_FILE: tls.caFile!,
      MC_BIN: mcPath(ctx),
      // mc reads aliases from MC_HOST_<alias>; `mc ls silo/silo-test` works after eval.
      MC_HOST_silo: `http://${MINIO_ACCESS_KEY}:${MINIO_SECRET_KEY}@${LOOPBACK}:${ports.minioHttp}`,
    };
  },
};
