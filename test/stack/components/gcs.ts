import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Component, StackContext } from '../component.js';
import { goBinPath, goInstallCached } from '../lib/go.js';
import { LOOPBACK, ports } from '../lib/ports.js';
import { ensureTestCa, testCaPaths } from '../tls/ca.js';
import { logTail, pidFileAlive, spawnDaemon, stopByPidFile } from '../lib/proc.js';
import { pruneOlderThan, STALE_TEST_DATA_MS } from '../lib/prune.js';
import { httpStatus, portOpen, waitForHttp } from '../lib/wait.js';
import { versions } from '../versions.js';

export const GCS_BUCKET = 'silo-test';
export const GCS_PROJECT = 'silo-test';
const endpoint = `http://${LOOPBACK}:${ports.gcs}`;

const pidFile = (ctx: StackContext) => join(ctx.root, 'gcs', 'fake-gcs-server.pid');
const logFile = (ctx: StackContext) => join(ctx.logDir, 'gcs.log');

/**
 * fake-gcs-server speaks the GCS JSON API; it needs no credentials. It serves plain HTTP for Node clients and,
 * from the same data, HTTPS with the test CA on `localhost` for pgBackRest, which reaches GCS over TLS only.
 */
const tlsEndpoint = `localhost:${ports.gcsTls}`;
export const gcs: Component = {
  name: 'gcs',
  async install(ctx) {
    await goInstallCached(ctx, 'github.com/fsouza/fake-gcs-server', versions.fakeGcsServer, 'fake-gcs-server');
  },
  async up(ctx) {
    if (await gcs.status(ctx)) return;
    // A server from before the TLS listener existed answers HTTP only: replace it.
    await stopByPidFile(pidFile(ctx));
    const ca = await ensureTestCa(ctx);
    const data = join(ctx.root, 'gcs', 'data');
    mkdirSync(data, { recursive: true });
    pruneOlderThan(join(data, GCS_BUCKET), STALE_TEST_DATA_MS);
    spawnDaemon({
      cmd: goBinPath(ctx, 'fake-gcs-server', versions.fakeGcsServer),
      args: [
        '-scheme',
        'both',
        '-host',
        LOOPBACK,
        '-port',
        String(ports.gcsTls),
        '-port-http',
        String(ports.gcs),
        '-cert-location',
        ca.serverCert,
        '-private-key-location',
        ca.serverKey,
        // Filesystem, not memory: large benchmark objects should not sit in RAM.
        '-backend',
        'filesystem',
        '-filesystem-root',
        data,
        // Resumable-upload Location headers must point back at us, not at 0.0.0.0.
        '-external-url',
        endpoint,
        '-public-host',
        `${LOOPBACK}:${ports.gcs}`,
        '-log-level',
        'warn',
      ],
      pidFile: pidFile(ctx),
      logFile: logFile(ctx),
    });
    try {
      await waitForHttp(`${endpoint}/storage/v1/b`, 60_000, { ok: (s) => s === 200, pidFile: pidFile(ctx) });
    } catch (e) {
      throw new Error(`fake-gcs-server did not become ready: ${(e as Error).message}\n${logTail(logFile(ctx))}`, { cause: e });
    }
    const res = await fetch(`${endpoint}/storage/v1/b?project=${GCS_PROJECT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: GCS_BUCKET }),
    });
    if (!res.ok && res.status !== 409) throw new Error(`creating GCS bucket: HTTP ${res.status} ${await res.text()}`);
  },
  async down(ctx) {
    await stopByPidFile(pidFile(ctx));
  },
  async status(ctx) {
    if (!pidFileAlive(pidFile(ctx))) return false;
    // A generous timeout: over a filesystem root of many objects on a loaded machine, a live server can take
    // seconds to list its buckets, and a status of "down" for a live server makes up() start a second one that
    // cannot bind (CI, 2026-12-06 04:20).
    const answer = await httpStatus(`${endpoint}/storage/v1/b`, { timeoutMs: 15_000 }).catch(() => 0);
    return answer === 200 && (await portOpen(LOOPBACK, ports.gcsTls));
  },
  env(ctx) {
    return {
      // host:port for pgBackRest (repoN-gcs-endpoint), with the CA that signed its certificate.
      GCS_TLS_ENDPOINT: tlsEndpoint,
      GCS_CA_FILE: testCaPaths(ctx).caCert,
      // Deliberately no STORAGE_EMULATOR_HOST: with it set, @google-cloud/storage 7
      // downloads from /b/... without /storage/v1 and gets 404 from fake-gcs-server.
      // Node clients pass GCS_ENDPOINT as `apiEndpoint` instead.
      GCS_ENDPOINT: endpoint,
      GCS_BUCKET,
      GCS_PROJECT,
    };
  },
};
