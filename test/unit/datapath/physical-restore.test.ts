import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../../runtime/contracts/config-error.js';
import { MYSQL_ENGINE } from '../../../runtime/contracts/engines.js';
import { restorePhysicalChain } from '../../../runtime/datapath/physical-restore.js';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';
import { createLogger } from '../../../runtime/logging/logger.js';

describe('physical restore guards', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-phys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const logger = createLogger({}, { write: () => undefined });

  it('refuses a data directory that already holds files, and touches nothing', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'ibdata1'), 'live data');
    const error = await restorePhysicalChain({
      engine: MYSQL_ENGINE,
      store: new FilesystemStore(join(dir, 'store')),
      chain: [{ key: 'k', sha256: 'a'.repeat(64), compression: 'none', backupId: 'b' }],
      workDir: join(dir, 'work'),
      dataDir,
      logger,
    }).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal(
      `the volume of ${dataDir} cannot take this recovery: its data directory holds files that no recovery placed there (no state file, no journal)`,
    );
    expect(readdirSync(dataDir)).to.deep.equal(['ibdata1']);
    expect(readdirSync(dir)).to.deep.equal(['data']);
  });

  it('refuses an empty chain', async () => {
    const error = await restorePhysicalChain({
      engine: MYSQL_ENGINE,
      store: new FilesystemStore(dir),
      chain: [],
      workDir: join(dir, 'w'),
      dataDir: join(dir, 'd'),
      logger,
    }).then(
      () => undefined,
      (e) => e,
    );
    expect(error.message).to.equal('restore chain is empty');
  });
});
