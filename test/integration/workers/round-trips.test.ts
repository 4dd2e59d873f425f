// Issue 4's round trips, through the worker CLI as a Job runs it: a command
// backup (mariadb-dump) and a physical backup (mariabackup through the instance
// manager) of a seeded MariaDB go to MinIO, Ceph RGW, Azurite and fake-gcs-server,
// and each is restored into a fresh mariadbd with equal CHECKSUM TABLE.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { createInstanceManagerServer } from '../../../runtime/instance-manager/server.js';
import { createMysqlEngine } from '../../../runtime/instance-manager/engines/mysql/engine.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { mariadbInstance, startMariadb, stopMariadb } from '../../stack/components/mariadb.js';
import { checksumTables, seedDataset, type SeedResult } from '../../stack/datasets/mariadb-seed.js';
import { useStack } from '../../stack/mocha.js';
import { createPki } from '../../support/pki.js';
import { removeStorePrefix } from '../../support/store-cleanup.js';
import { lastJson, runSilo as silo } from '../../support/silo-cli.js';
import { azuriteWorkerEnv, gcsWorkerEnv, minioWorkerEnv, rgwWorkerEnv, workerProcessEnv } from '../../support/worker-store-env.js';

const stack = useStack('mariadb', 'minio', 'rgw', 'azurite', 'gcs');

const stores: Array<{ name: string; env: () => Record<string, string> }> = [
  { name: 'MinIO', env: () => minioWorkerEnv(stack.ctx) },
  { name: 'Ceph RGW', env: rgwWorkerEnv },
  { name: 'Azurite', env: azuriteWorkerEnv },
  { name: 'fake-gcs-server', env: gcsWorkerEnv },
];

describe('worker round trips of a seeded MariaDB through every store', function () {
  this.timeout(300_000);
  let dir: string;
  let seed: SeedResult;
  let expected: Record<string, string>;
  let server: Server;
  let imUrl: string;
  const keys = generateAgeKeyPair();
  const main = () => mariadbInstance(stack.ctx);
  let port = 19170;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silo-rt-'));
    seed = await seedDataset(main(), { rows: 2000, database: 'silo_rt' });
    expected = await checksumTables(main(), seed);
    writeFileSync(join(dir, 'identity'), keys.identity);
    const pki = createPki(join(dir, 'pki'));
    for (const [name, value] of Object.entries({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }))
      writeFileSync(join(dir, name), value);
    server = createInstanceManagerServer({
      tls: { key: pki.serverKey, cert: pki.serverCert, clientCa: pki.ca },
      engine: createMysqlEngine({ connection: { socket: main().socket, user: 'root' }, instanceName: 'db-1' }),
      logger: createLogger({}, { write: () => undefined }),
      instanceName: 'db-1',
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    imUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  // What each case wrote, removed afterwards (test/support/store-cleanup.ts says why).
  const written: Array<{ env: Record<string, string>; prefix: string }> = [];
  after(async () => {
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
    for (const { env, prefix } of written) await removeStorePrefix(env, prefix);
  });

  async function intoFreshServer(
    name: string,
    datadir: string | undefined,
    restore: (inst: ReturnType<typeof mariadbInstance>) => Promise<void>,
  ) {
    const fresh = mariadbInstance(stack.ctx, name, port++, datadir ? { datadir } : {});
    if (datadir) await restore(fresh);
    await startMariadb(stack.ctx, fresh);
    try {
      if (!datadir) await restore(fresh);
      expect(await checksumTables(fresh, seed)).to.deep.equal(expected);
    } finally {
      await stopMariadb(fresh);
      rmSync(fresh.dir, { recursive: true, force: true });
    }
  }

  for (const [index, store] of stores.entries()) {
    // Half the stores get a stream compressed by the instance manager (the default, decision 0014), half by the worker.
    const compressOn = index % 2 === 0 ? 'instance' : 'worker';
    const slug = store.name.toLowerCase().replace(/[^a-z]+/g, '-');
    it(`${store.name}: mariadb-dump with zstd + age, restored through the mariadb client`, async () => {
      const prefix = `rt/${slug}/${Date.now()}`;
      written.push({ env: store.env(), prefix });
      const key = `${prefix}/dump.sql`;
      const backup = await silo(
        [
          'backup',
          'command',
          '--',
          'mariadb-dump',
          '--no-defaults',
          `--socket=${main().socket}`,
          '-uroot',
          '--single-transaction',
          '--databases',
          seed.database,
        ],
        {
          ...store.env(),
          ...workerProcessEnv({
            dataKey: key,
            backupId: '20261122T000000Z',
            compression: { algorithm: 'zstd' },
            ageRecipients: [keys.recipient],
          }),
        },
      );
      expect(backup.code, backup.stderr.slice(-2000)).to.equal(0);
      await intoFreshServer(`rt-cmd-${slug}`, undefined, async (fresh) => {
        const restore = await silo(['restore', 'command', '--', 'mariadb', '--no-defaults', `--socket=${fresh.socket}`, '-uroot'], {
          ...store.env(),
          ...workerProcessEnv({ metadataKey: `${key}.metadata.json`, ageIdentity: { file: join(dir, 'identity') } }),
        });
        expect(restore.code, restore.stderr.slice(-2000)).to.equal(0);
      });
    });

    it(`${store.name}: physical backup through the instance manager (compressed on the ${compressOn}), restored by prepare and copy-back`, async () => {
      const prefix = `rt/${slug}/${Date.now()}/physical`;
      written.push({ env: store.env(), prefix });
      const backup = await silo(['backup', 'physical', '--instance-manager', imUrl], {
        ...store.env(),
        ...workerProcessEnv({
          dataKey: `${prefix}/backup.xbstream`,
          metadataKey: `${prefix}/metadata.json`,
          backupId: '20261122T000000Z',
          compression: { algorithm: 'zstd' },
          ageRecipients: [keys.recipient],
          compressOn,
          tls: { caFile: join(dir, 'ca'), certFile: join(dir, 'cert'), keyFile: join(dir, 'key') },
        }),
      });
      expect(backup.code, backup.stderr.slice(-2000)).to.equal(0);
      const metadata = lastJson(backup.stdout).metadata;
      expect(metadata.lsn.to).to.match(/^\d+$/);
      expect(metadata.kind).to.equal('physical');
      expect(backup.stderr).to.include(`"compressedOn":"${compressOn}"`);
      expect(metadata.sizes.sourceBytes, 'the uncompressed xbstream size, wherever it was compressed').to.be.greaterThan(
        metadata.sizes.storedBytes,
      );
      await intoFreshServer(`rt-phys-${slug}`, join(dir, `data-${slug}`), async () => {
        const restore = await silo(
          ['restore', 'physical', '--data-dir', join(dir, `data-${slug}`), '--work-dir', join(dir, `work-${slug}`)],
          {
            ...store.env(),
            ...workerProcessEnv({ metadataKeys: [`${prefix}/metadata.json`], ageIdentity: { file: join(dir, 'identity') } }),
          },
        );
        expect(restore.code, restore.stderr.slice(-2000)).to.equal(0);
      });
    });
  }
});
