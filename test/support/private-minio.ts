/**
 * A MinIO of one test file's own, over TLS with the stack's test CA (its server certificate names
 * localhost, which pgBackRest needs), that the test can stop and start again with its data kept:
 * an object store outage for real, without touching the stack's MinIO that other files use.
 * The binary is the stack's (test/stack/components/minio.ts installs it); the data lives under the
 * stack root, so `npm run stack -- down` users find it beside the rest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StackContext } from '../stack/component.js';
import { goBinPath } from '../stack/lib/go.js';
import { LOOPBACK } from '../stack/lib/ports.js';
import { ensureBucket } from '../stack/lib/s3.js';
import { httpStatus } from '../stack/lib/wait.js';
import { ensureTestCa } from '../stack/tls/ca.js';
import { versions } from '../stack/versions.js';

export interface PrivateMinio {
  /** https://localhost:<port> */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly caFile: string;
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

export async function privateMinio(ctx: StackContext, options: { name: string; port: number }): Promise<PrivateMinio> {
  const ca = await ensureTestCa(ctx);
  const dir = join(ctx.root, `minio-${options.name}`);
  const certs = join(dir, 'certs');
  mkdirSync(join(certs, 'CAs'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  copyFileSync(ca.serverCert, join(certs, 'public.crt'));
  copyFileSync(ca.serverKey, join(certs, 'private.key'));
  copyFileSync(ca.caCert, join(certs, 'CAs', 'ca.crt'));
  const endpoint = `https://localhost:${options.port}`;
  const accessKey = `${options.name}-key`;
  const secretKey = `${options.name}-secret-${process.pid}`;
  const bucket = options.name;
  let child: ChildProcess | undefined;

  const ready = async (): Promise<boolean> =>
    httpStatus(`${endpoint}/minio/health/ready`, { ca: readFileSync(ca.caCert) }).then(
      (s) => s === 200,
      () => false,
    );

  const self: PrivateMinio = {
    endpoint,
    accessKey,
    secretKey,
    bucket,
    caFile: ca.caCert,
    async start() {
      const log = openSync(join(ctx.logDir, `minio-${options.name}.log`), 'a');
      child = spawn(
        goBinPath(ctx, 'minio', versions.minio),
        [
          'server',
          '--address',
          `${LOOPBACK}:${options.port}`,
          '--console-address',
          `${LOOPBACK}:${options.port + 1}`,
          '--certs-dir',
          certs,
          join(dir, 'data'),
        ],
        {
          env: {
            ...process.env,
            MINIO_ROOT_USER: accessKey,
            MINIO_ROOT_PASSWORD: secretKey,
            MINIO_UPDATE: 'off',
            MINIO_CALLHOME_ENABLE: 'off',
            MINIO_BROWSER: 'off',
          },
          stdio: ['ignore', log, log],
        },
      );
      for (let i = 0; i < 150; i++) {
        if (child.exitCode !== null) throw new Error(`private MinIO ${options.name} exited with ${child.exitCode}`);
        if (await ready()) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`private MinIO ${options.name} did not become ready on ${endpoint}`);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
    async destroy() {
      await self.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

/** Creates the bucket of a private MinIO (once, after its first start). */
export async function createPrivateBucket(minio: PrivateMinio): Promise<void> {
  await ensureBucket(
    { endpoint: minio.endpoint, caFile: minio.caFile, accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
    minio.bucket,
  );
}
