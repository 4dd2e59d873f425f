import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Component, StackContext } from '../component.js';
import { LOOPBACK, ports } from '../lib/ports.js';
import { logTail, pidFileAlive, spawnDaemon, stopByPidFile } from '../lib/proc.js';
import { run } from '../lib/run.js';
import { ensureTestCa, testCaPaths } from '../tls/ca.js';
import { portOpen, waitForPort } from '../lib/wait.js';
import { versions } from '../versions.js';

/** Azurite's fixed development account (documented, public, not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const AZURITE_CONTAINER = 'silo-test';
const blobEndpoint = `http://${LOOPBACK}:${ports.azuriteBlob}/${AZURITE_ACCOUNT}`;
export const AZURITE_CONNECTION_STRING = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`;

// Installed into the cache, not the project's node_modules: it is a server, not a dependency.
const prefix = (ctx: StackContext) => join(ctx.cacheDir, `azurite-${versions.azurite}`);
const bin = (ctx: StackContext) => join(prefix(ctx), 'node_modules', '.bin', 'azurite-blob');
/**
 * Two Azurite servers, each with its own data: plain HTTP for Node clients, and HTTPS with the test CA on
 * `localhost` for pgBackRest, which reaches Azure over TLS only (Azurite serves one protocol per process).
 */
const instances = [
  { id: 'http', port: ports.azuriteBlob, tls: false },
  { id: 'tls', port: ports.azuriteBlobTls, tls: true },
] as const;
type Instance = (typeof instances)[number];
const suffix = (i: Instance) => (i.tls ? '-tls' : '');
const pidFile = (ctx: StackContext, i: Instance) => join(ctx.root, 'azurite', `azurite${suffix(i)}.pid`);
const logFile = (ctx: StackContext, i: Instance) => join(ctx.logDir, `azurite${suffix(i)}.log`);
const tlsBlobEndpoint = `https://localhost:${ports.azuriteBlobTls}/${AZURITE_ACCOUNT}`;

/** Creates the container on one Azurite; the TLS one from a child Node that trusts the test CA (the SDK takes no CA option). */
async function createContainer(ctx: StackContext, i: Instance): Promise<void> {
  if (!i.tls) {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    await BlobServiceClient.fromConnectionString(AZURITE_CONNECTION_STRING).getContainerClient(AZURITE_CONTAINER).createIfNotExists();
    return;
  }
  const connection = AZURITE_CONNECTION_STRING.replace('=http;', '=https;').replace(blobEndpoint, tlsBlobEndpoint);
  const script = `const { BlobServiceClient } = require('@azure/storage-blob');
BlobServiceClient.fromConnectionString(process.env.CS).getContainerClient(process.env.CONTAINER).createIfNotExists()
  .catch((e) => { console.error(e.message); process.exit(1); });`;
  execFileSync(process.execPath, ['-e', script], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: testCaPaths(ctx).caCert, CS: connection, CONTAINER: AZURITE_CONTAINER },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function upOne(ctx: StackContext, i: Instance): Promise<void> {
  if (pidFileAlive(pidFile(ctx, i)) && (await portOpen(LOOPBACK, i.port))) return;
  const data = join(ctx.root, 'azurite', `data${suffix(i)}`);
  // Each start begins empty: a test run's blobs are its own, and a stop may have been a SIGKILL mid-write (down()).
  rmSync(data, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const args = ['--blobHost', LOOPBACK, '--blobPort', String(i.port), '--location', data];
  if (i.tls) {
    const ca = await ensureTestCa(ctx);
    args.push('--cert', ca.serverCert, '--key', ca.serverKey);
  }
  spawnDaemon({
    cmd: bin(ctx),
    // Newer SDKs send API versions this Azurite does not know yet.
    args: [...args, '--skipApiVersionCheck', '--disableProductStyleUrl', '--loose'],
    pidFile: pidFile(ctx, i),
    logFile: logFile(ctx, i),
  });
  try {
    await waitForPort(LOOPBACK, i.port, 60_000, { pidFile: pidFile(ctx, i) });
  } catch (e) {
    throw new Error(`azurite (${i.id}) did not start: ${(e as Error).message}\n${logTail(logFile(ctx, i))}`, { cause: e });
  }
  await createContainer(ctx, i);
}

export const azurite: Component = {
  name: 'azurite',
  async install(ctx) {
    if (existsSync(bin(ctx))) return;
    ctx.log(`npm install azurite@${versions.azurite} into ${prefix(ctx)}`);
    // Into a .partial dir renamed on success (the .bin links are relative), so an
    // interrupted install is never mistaken for a finished one.
    const partial = `${prefix(ctx)}.partial`;
    rmSync(partial, { recursive: true, force: true });
    await run('npm', ['install', '--prefix', partial, '--no-audit', '--no-fund', '--no-save', `azurite@${versions.azurite}`]);
    rmSync(prefix(ctx), { recursive: true, force: true });
    renameSync(partial, prefix(ctx));
  },
  async up(ctx) {
    for (const i of instances) await upOne(ctx, i);
  },
  async down(ctx) {
    // Azurite's SIGTERM waits for its clients' keep-alive connections to close, which can be never: the 15 s grace
    // ran out at the end of a test run (30 s for the two). It is a test emulator whose data the next run replaces.
    await Promise.all(instances.map((i) => stopByPidFile(pidFile(ctx, i), 2_000)));
  },
  async status(ctx) {
    for (const i of instances) if (!(pidFileAlive(pidFile(ctx, i)) && (await portOpen(LOOPBACK, i.port)))) return false;
    return true;
  },
  env(ctx) {
    return {
      // host:port for pgBackRest (repoN-azure-endpoint and repoN-storage-port, path-style), with the CA of its certificate.
      AZURITE_TLS_ENDPOINT: `localhost:${ports.azuriteBlobTls}`,
      AZURITE_CA_FILE: testCaPaths(ctx).caCert,
      AZURITE_BLOB_ENDPOINT: blobEndpoint,
      AZURITE_ACCOUNT,
      AZURITE_KEY,
      AZURITE_CONTAINER,
      AZURE_STORAGE_CONNECTION_STRING: AZURITE_CONNECTION_STRING,
    };
  },
};
