import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Component, StackContext } from '../component.js';
import { LOOPBACK, ports } from '../lib/ports.js';
import { logTail, pidFileAlive, spawnDaemon, stopByPidFile } from '../lib/proc.js';
import { run } from '../lib/run.js';
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
const pidFile = (ctx: StackContext) => join(ctx.root, 'azurite', 'azurite.pid');
const logFile = (ctx: StackContext) => join(ctx.logDir, 'azurite.log');

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
    if (await azurite.status(ctx)) return;
    const data = join(ctx.root, 'azurite', 'data');
    mkdirSync(data, { recursive: true });
    spawnDaemon({
      cmd: bin(ctx),
      args: [
        '--blobHost',
        LOOPBACK,
        '--blobPort',
        String(ports.azuriteBlob),
        '--location',
        data,
        // Newer SDKs send API versions this Azurite does not know yet.
        '--skipApiVersionCheck',
        '--disableProductStyleUrl',
        '--loose',
      ],
      pidFile: pidFile(ctx),
      logFile: logFile(ctx),
    });
    try {
      await waitForPort(LOOPBACK, ports.azuriteBlob, 60_000, { pidFile: pidFile(ctx) });
    } catch (e) {
      throw new Error(`azurite did not start: ${(e as Error).message}\n${logTail(logFile(ctx))}`, { cause: e });
    }
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const container = BlobServiceClient.fromConnectionString(AZURITE_CONNECTION_STRING).getContainerClient(AZURITE_CONTAINER);
    await container.createIfNotExists();
  },
  async down(ctx) {
    await stopByPidFile(pidFile(ctx));
  },
  async status(ctx) {
    return pidFileAlive(pidFile(ctx)) && (await portOpen(LOOPBACK, ports.azuriteBlob));
  },
  env() {
    return {
      AZURITE_BLOB_ENDPOINT: blobEndpoint,
      AZURITE_ACCOUNT,
      AZURITE_KEY,
      AZURITE_CONTAINER,
      AZURE_STORAGE_CONNECTION_STRING: AZURITE_CONNECTION_STRING,
    };
  },
};
