// The recovery step end to end on a filesystem store, with a stand-in for mariabackup (a shell script
// that prepares by appending, deletes an increment's data as it applies it, as mariabackup deletes
// its deltas, and moves or copies back): every step, then the runs a kill leaves behind. The real
// tools run in test/integration/workers/recovery.test.ts.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { expect } from 'chai';
import { ConfigError } from '../../../runtime/contracts/config-error.js';
import { MYSQL_ENGINE, type EngineDescriptor } from '../../../runtime/contracts/engines.js';
import type { RecoveryProgress } from '../../../runtime/contracts/recovery-progress.js';
import { CopyBackFailedError, restorePhysicalChain, type ChainLink } from '../../../runtime/datapath/physical-restore.js';
import { readJournal } from '../../../runtime/datapath/recovery/journal.js';
import { StoredDataDamagedError } from '../../../runtime/datapath/restore-pipeline.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';

const FAKE_TOOL = `#!/bin/bash
set -e
mode=$1; shift
for a in "$@"; do case $a in --target-dir=*) T=\${a#*=};; --incremental-dir=*) I=\${a#*=};; --datadir=*) D=\${a#*=};; esac; done
case $mode in
  --prepare)
    if [ -n "$I" ]; then
      if [ -e "$FAKE_DIR/hang-prepare" ]; then echo half-applied >> "$T/archive"; rm "$I/archive"; exec sleep 30; fi
      cat "$I/archive" >> "$T/archive"; rm "$I/archive"
    else
      echo prepared >> "$T/archive"
      touch "$T/master.info" "$T/db-relay-bin.000001" "$T/db-relay-bin.index"
    fi
    printf 'bin.000001\t385\t0-1-%s\n' "$(wc -l < "$T/archive")" > "$T/xtrabackup_binlog_info" ;;
  --move-back|--copy-back)
    mkdir -p "$D"
    if [ -n "$(ls -A "$D")" ]; then echo "Original data directory $D is not empty!" >&2; exit 1; fi
    for f in "$T"/*; do
      case $(basename "$f") in xtrabackup_*) continue;; esac
      if [ "$mode" = --move-back ]; then mv "$f" "$D/"; else cp -r "$f" "$D/"; fi
      if [ -e "$FAKE_DIR/fail-place" ]; then echo "cannot write $D: Input/output error" >&2; exit 1; fi
    done ;;
esac
`;

class CountingStore extends FilesystemStore {
  reads: string[] = [];
  override createReadStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    this.reads.push(key);
    return super.createReadStream(key, range);
  }
}

describe('recovery step: steps, resume and idempotence', () => {
  let dir: string;
  let store: CountingStore;
  let chain: ChainLink[];
  let engine: EngineDescriptor;
  const logger = createLogger({}, { write: () => undefined });
  const put = (key: string, body: string): ChainLink => {
    const path = join(dir, 'store', key);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, body);
    const sha256 = createHash('sha256').update(body).digest('hex');
    return { key, sha256, compression: 'none', backupId: key.split('/')[0], storedBytes: body.length, encrypted: false };
  };
  const workDir = () => join(dir, 'pvc/silo');
  const dataDir = () => join(dir, 'pvc/data');
  const run = (options: { signal?: AbortSignal; dataDir?: string; onProgress?: (p: RecoveryProgress) => void } = {}) =>
    restorePhysicalChain({ store, chain, engine, workDir: workDir(), dataDir: options.dataDir ?? dataDir(), logger, ...options });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: Error) => error,
    );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-recovery-'));
    store = new CountingStore(join(dir, 'store'));
    chain = [put('20261120T000000Z/backup.xbstream', 'FULL\n'), put('20261121T000000Z/backup.xbstream', 'INC1\n')];
    writeFileSync(join(dir, 'fake-mariabackup'), FAKE_TOOL);
    chmodSync(join(dir, 'fake-mariabackup'), 0o755);
    process.env.FAKE_DIR = dir;
    engine = {
      ...MYSQL_ENGINE,
      restore: {
        ...MYSQL_ENGINE.restore,
        tool: join(dir, 'fake-mariabackup'),
        extract: (target) => ({ command: 'sh', args: ['-c', `cat > '${target}/archive'`] }),
      },
    };
  });
  afterEach(() => {
    delete process.env.FAKE_DIR;
    rmSync(dir, { recursive: true, force: true });
  });

  it('fills the data directory, removes replica state, writes the state file last and leaves no work area', async () => {
    const progress: RecoveryProgress[] = [];
    const result = await run({ onProgress: (p) => progress.push(p) });
    expect(result).to.deep.include({
      backupId: '20261121T000000Z',
      gtid: '0-1-3',
      alreadyRecovered: false,
      placement: 'move-back',
      reusedLinks: 0,
    });
    expect(Object.keys(result.durations)).to.deep.equal(['downloading', 'preparing', 'moving', 'finalizing']);
    expect(readFileSync(join(dataDir(), 'archive'), 'utf8')).to.equal('FULL\nprepared\nINC1\n');
    expect(readdirSync(dataDir())).to.deep.equal(['archive']);
    const state = JSON.parse(readFileSync(join(workDir(), 'state.json'), 'utf8'));
    expect(state).to.deep.include({ origin: 'recovery', backupId: '20261121T000000Z', gtid: '0-1-3' });
    expect(readdirSync(workDir())).to.deep.equal(['state.json']);
    expect(progress.map((p) => `${p.phase}:${p.link ?? ''}`)).to.deep.equal([
      'downloading:0',
      'downloading:1',
      'preparing:0',
      'preparing:1',
      'moving:',
      'finalizing:',
    ]);
    expect(progress[progress.length - 1]).to.deep.include({ bytesDone: 10, bytesTotal: 10 });
  });

  it('a second run on a recovered volume changes nothing and reads nothing from the store', async () => {
    await run();
    store.reads = [];
    const stateBefore = readFileSync(join(workDir(), 'state.json'), 'utf8');
    mkdirSync(join(workDir(), 'restore/link-0'), { recursive: true }); // left by a run killed while tidying up
    const again = await run();
    expect(again).to.deep.equal({ backupId: '20261121T000000Z', gtid: '0-1-3', alreadyRecovered: true, durations: {} });
    expect(store.reads).to.deep.equal([]);
    expect(readFileSync(join(workDir(), 'state.json'), 'utf8')).to.equal(stateBefore);
    expect(readdirSync(workDir())).to.deep.equal(['state.json']);
  });

  it('refuses a damaged increment before the data directory is touched; the genuine object then recovers without downloading the full again', async () => {
    const path = join(dir, 'store', chain[1].key);
    writeFileSync(path, 'INC2\n');
    const error = await failure(run());
    expect(error).to.be.instanceOf(StoredDataDamagedError);
    expect(existsSync(dataDir())).to.equal(false);
    expect(readJournal(join(workDir(), 'restore/journal.json'))).to.deep.include({ verified: [true, false], prepared: false });
    writeFileSync(path, 'INC1\n');
    store.reads = [];
    const result = await run();
    expect(result).to.deep.include({ reusedLinks: 1, alreadyRecovered: false });
    expect(store.reads).to.deep.equal([chain[1].key]);
    expect(readFileSync(join(dataDir(), 'archive'), 'utf8')).to.equal('FULL\nprepared\nINC1\n');
  });

  it('a prepare cut short is redone from freshly downloaded links: the base and the increment it was applying', async () => {
    writeFileSync(join(dir, 'hang-prepare'), '');
    const abort = new AbortController();
    const running = failure(run({ signal: abort.signal }));
    const journal = join(workDir(), 'restore/journal.json');
    while (readJournal(journal)?.preparing !== 1 || !readFileSync(join(workDir(), 'restore/link-0/archive'), 'utf8').includes('half'))
      await new Promise((resolve) => setTimeout(resolve, 20));
    abort.abort(new Error('killed'));
    expect((await running)?.message).to.equal('killed');
    expect(readJournal(journal)).to.deep.include({ preparing: 1, prepared: false });
    rmSync(join(dir, 'hang-prepare'));
    store.reads = [];
    const result = await run();
    expect(store.reads).to.deep.equal([chain[0].key, chain[1].key]);
    expect(result.reusedLinks).to.equal(0);
    expect(readFileSync(join(dataDir(), 'archive'), 'utf8')).to.equal('FULL\nprepared\nINC1\n');
  });

  it('a placement cut short is cleared and redone from the prepared base, with nothing downloaded again', async () => {
    writeFileSync(join(dir, 'fail-place'), '');
    const error = await failure(run());
    expect(error).to.be.instanceOf(CopyBackFailedError);
    expect(readdirSync(dataDir()).length).to.be.greaterThan(0);
    expect(existsSync(join(workDir(), 'state.json'))).to.equal(false);
    expect(readFileSync(join(workDir(), 'restore/link-0/archive'), 'utf8'), 'the prepared base stays whole').to.include('INC1');
    rmSync(join(dir, 'fail-place'));
    store.reads = [];
    const result = await run();
    expect(store.reads).to.deep.equal([]);
    expect(result).to.deep.include({ reusedLinks: 2, placement: 'move-back' });
    expect(readdirSync(dataDir())).to.deep.equal(['archive']);
    expect(readFileSync(join(dataDir(), 'archive'), 'utf8')).to.equal('FULL\nprepared\nINC1\n');
  });

  it('copies back when the data directory is on another filesystem', async () => {
    const other = mkdtempSync('/dev/shm/silo-recovery-');
    try {
      const result = await run({ dataDir: join(other, 'data') });
      expect(result.placement).to.equal('copy-back');
      expect(readFileSync(join(other, 'data/archive'), 'utf8')).to.equal('FULL\nprepared\nINC1\n');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses a volume whose state file records another origin, without reading the store', async () => {
    mkdirSync(workDir(), { recursive: true });
    writeFileSync(join(workDir(), 'state.json'), JSON.stringify({ origin: 'initdb', completedAt: '2026-12-01T00:00:00Z' }));
    const error = await failure(run());
    expect(error).to.be.instanceOf(ConfigError);
    expect(error!.message).to.match(/already holds a complete datadir \(initdb: initdb\); a recovery never overwrites one$/);
    expect(store.reads).to.deep.equal([]);
  });
});
