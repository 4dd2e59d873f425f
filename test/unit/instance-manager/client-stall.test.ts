// Decision 0027's other half: a backup tool that says nothing for longer than the client-stall timeout (waiting for
// locks on a busy database) is not a stalled client, and its backup goes on. The frozen client that is one is
// checked against real MariaDB in test/integration/datapath/instance-manager.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import type { Engine } from '../../../runtime/instance-manager/engine.js';
import { createInstanceManagerServer } from '../../../runtime/instance-manager/server.js';
import { InstanceManagerSource } from '../../../runtime/datapath/sources/instance-manager-source.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { createPki, type Pki } from '../../support/pki.js';

const STALL_MS = 300;

/** A backup tool that writes one chunk, says nothing for `quietMs`, then writes another and exits 0. */
function quietEngine(quietMs: number): Engine {
  return {
    name: 'quiet',
    backupRequest: () => ({ fields: {} }),
    startBackup: async () => {
      const output = new PassThrough();
      let stopped = false;
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        output.write(Buffer.alloc(1024, 1));
        setTimeout(() => {
          if (stopped) return resolve({ code: null, signal: 'SIGTERM' });
          output.end(Buffer.alloc(1024, 2));
          output.once('end', () => resolve({ code: 0, signal: null }));
        }, quietMs);
      });
      return {
        tool: 'quiet-tool',
        stream: {
          output,
          compressedBy: 'none',
          done,
          stop: () => {
            stopped = true;
            output.destroy();
          },
        },
        finish: () => ({ trailers: {}, last: {} }),
        dispose: () => undefined,
      };
    },
    status: () => Promise.resolve({}),
  };
}

describe('instance manager: a quiet backup tool is not a stalled client', function () {
  this.timeout(20_000);
  let dir: string;
  let pki: Pki;
  let server: Server;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silo-im-quiet-'));
    pki = createPki(dir);
    server = createInstanceManagerServer({
      tls: { key: pki.serverKey, cert: pki.serverCert, clientCa: pki.ca },
      engine: quietEngine(6 * STALL_MS),
      logger: createLogger({}, { write: () => undefined }),
      instanceName: 'db-1',
      clientStallTimeoutMs: STALL_MS,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the whole stream and the exit status after a silence six times the stall timeout', async () => {
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const source = new InstanceManagerSource({ url, tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    let bytes = 0;
    for await (const chunk of source) bytes += (chunk as Buffer).length;
    expect(bytes).to.equal(2048);
  });
});
