import { expect } from 'chai';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastJson, runSilo } from '../../support/silo-cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

describe('silo delete object (BackupRun retainPolicy: Delete cleanup Pod)', function () {
  const tempDir = useTempDirs();
  this.timeout(60_000);

  it('deletes the data object and its metadata.json, and succeeds again when they are already gone', async () => {
    const root = tempDir('silo-delete-');
    mkdirSync(join(root, 'backups'));
    writeFileSync(join(root, 'backups', 'x.sql'), 'data');
    writeFileSync(join(root, 'backups', 'x.sql.metadata.json'), '{}');
    writeFileSync(join(root, 'backups', 'other.sql'), 'keep');
    const env = { SILO_STORE_TYPE: 'filesystem', SILO_FS_ROOT: root, SILO_DATA_KEY: 'backups/x.sql' };
    const first = await runSilo(['delete', 'object'], env);
    expect(first.code, first.stderr).to.equal(0);
    expect(lastJson(first.stdout)).to.deep.include({ outcome: 'deleted', deleted: ['backups/x.sql', 'backups/x.sql.metadata.json'] });
    expect(existsSync(join(root, 'backups', 'x.sql'))).to.equal(false);
    expect(existsSync(join(root, 'backups', 'x.sql.metadata.json'))).to.equal(false);
    expect(existsSync(join(root, 'backups', 'other.sql'))).to.equal(true);
    const again = await runSilo(['delete', 'object'], env);
    expect(again.code, again.stderr).to.equal(0);
  });

  it('without SILO_DATA_KEY it fails as a config error naming the variable', async () => {
    const result = await runSilo(['delete', 'object'], { SILO_STORE_TYPE: 'filesystem', SILO_FS_ROOT: tmpdir() });
    expect(result.code).to.equal(2);
    expect(lastJson(result.stdout).error).to.match(/SILO_DATA_KEY is not set/);
  });
});
