// Issue 13's recovery step through the worker CLI, as a Cluster's recovery Job runs it: a full and an
// incremental physical backup of a seeded MariaDB (mariabackup through the instance manager, zstd,
// age) in MinIO, recovered by `silo restore physical` into DATA_DIR with STATE_FILE written last, and
// mariadbd started on it with CHECKSUM TABLE equal to the source. A flipped byte in a stored object is
// refused before DATA_DIR exists; the worker is SIGKILLed during the download, prepare, moving and
// finalizing, and a rerun completes; a wrong age identity is a decryption failure; an archive that
// mariabackup cannot prepare is prepareFailed (exit 16), a data directory it cannot write is
// copyBackFailed (exit 17).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseRecoveryProgress, RECOVERY_PHASES } from '../../../runtime/contracts/recovery-progress.js';
import { storeConfigFromEnv } from '../../../runtime/contracts/worker-env.js';
import { EXIT } from '../../../runtime/contracts/worker-result.js';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { readBackupMetadata } from '../../../runtime/datapath/backup-metadata.js';
import { readJournal } from '../../../runtime/datapath/recovery/journal.js';
import { createInstanceManagerServer } from '../../../runtime/instance-manager/server.js';
import { createMysqlEngine } from '../../../runtime/instance-manager/engines/mysql/engine.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { createObjectStore } from '../../../runtime/objectstore/store-factory.js';
import type { ObjectStore } from '../../../runtime/objectstore/object-store.js';
import { mariadbInstance, mariadbSql, startMariadb, stopMariadb } from '../../stack/components/mariadb.js';
import { checksumTables, seedDataset, type SeedResult } from '../../stack/datasets/mariadb-seed.js';
import { useStack } from '../../stack/mocha.js';
import { gatedProxy } from '../../support/gated-proxy.js';
import { createPki } from '../../support/pki.js';
import { lastJson, runSilo, startSilo, type SiloRun } from '../../support/silo-cli.js';
import { removeStorePrefix } from '../../support/store-cleanup.js';
import { minioWorkerEnv, workerProcessEnv } from '../../support/worker-store-env.js';

const stack = useStack('mariadb', 'minio');

/** The pid and one other column of every process, from `ps`. */
function processTable(column: 'ppid' | 'pgid'): Array<[number, number]> {
  return execFileSync('ps', ['-e', '-o', `pid=,${column}=`])
    .toString()
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
}

/** Every process in the tree under `pid`, deepest last, from one `ps`. */
function descendants(pid: number, table = processTable('ppid')): number[] {
  const children = table.filter(([, ppid]) => ppid === pid).map(([child]) => child);
  return children.flatMap((child) => [child, ...descendants(child, table)]);
}

/**
 * Whether a process has exited: gone, or a zombie waiting for its parent with none of its threads left
 * (a killed thread group's leader shows as a zombie while its other threads still finish their calls).
 */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') && readdirSync(`/proc/${pid}/task`).length <= 1;
  } catch {
    return true;
  }
}

/**
 * SIGKILL a worker and everything it started, as Kubernetes kills a container (its whole cgroup), and wait until
 * every one of them has exited, as a container runtime does before the next container starts. The worker runs in
 * its own process group: stopping that group first freezes the tree, so a child the worker forks while this runs
 * (the next `mariabackup --prepare` of the chain) cannot escape a list of pids taken a moment before the kill and
 * go on writing into the link directories after it. The extractors run in groups of their own, found in the frozen
 * tree.
 */
async function killContainer(pid: number): Promise<void> {
  process.kill(-pid, 'SIGSTOP');
  const processes = [pid, ...descendants(pid)];
  for (const p of processes) {
    for (const target of [-p, p]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* not a group leader, or gone already */
      }
    }
  }
  await until('every killed process to exit', () => processes.every(exited) && groupMembers(pid).every(exited));
}

/** Every process whose process group is `pgid`. */
const groupMembers = (pgid: number): number[] =>
  processTable('pgid')
    .filter(([, group]) => group === pgid)
    .map(([member]) => member);

/** Whether the worker has a child running `mariabackup --prepare`. */
const preparing = (pid: number) =>
  descendants(pid).some((p) => {
    try {
      return /mariabackup\0--prepare/.test(readFileSync(`/proc/${p}/cmdline`, 'latin1'));
    } catch {
      return false;
    }
  });

/**
 * A command on PATH in front of the real one: when its arguments end with `match`, it marks `reached`
 * and waits there for good, before running the real command (`before`) or after it succeeded
 * (`after`); any other call runs the real command. The real tools do all the work: this only holds
 * the worker at a known point inside a step, for a test to kill it there.
 */
function pauseAt(dir: string, command: string, match: string, when: 'before' | 'after'): { env: Record<string, string>; reached: string } {
  const real = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
  const bin = join(dir, `pause-${command}-${when}`);
  const reached = join(bin, 'reached');
  execFileSync('mkdir', ['-p', bin]);
  const wait = `touch '${reached}'; while :; do sleep 1; done`;
  writeFileSync(
    join(bin, command),
    `#!/bin/bash\ncase " $* " in\n  *"${match} ")\n    ${when === 'after' ? `'${real}' "$@" || exit $?; ` : ''}${wait} ;;\nesac\nexec '${real}' "$@"\n`,
    { mode: 0o755 },
  );
  return { env: { PATH: `${bin}:${process.env.PATH}` }, reached };
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the recovery step (silo restore physical) on a volume, from MinIO', function () {
  this.timeout(600_000);
  let dir: string;
  let seed: SeedResult;
  let expected: Record<string, string>;
  let server: Server;
  let store: ObjectStore;
  const keys = generateAgeKeyPair();
  const stranger = generateAgeKeyPair();
  // Its own server, not the stack's: two mariabackups of one server wait on each other's BACKUP STAGE locks while
  // their redo copies run, and this file is not in the stack MariaDB's exclusive group (test/support/run-locks.ts).
  const source = mariadbInstance(stack.ctx, 'recovery-source', 19199);
  const prefix = `recovery/${Date.now()}`;
  const ids = ['20261201T000000Z', '20261202T000000Z'];
  const metadataKeys = ids.map((id) => `${prefix}/${id}/metadata.json`);
  const dataKeys = ids.map((id) => `${prefix}/${id}/backup.xbstream`);
  const sha256s: string[] = [];
  let incrementalGtid: string;
  let port = 19180;

  const volume = (name: string) => ({ root: join(dir, name), data: join(dir, name, 'data'), work: join(dir, name, 'silo') });
  const restoreEnv = (identityFile = join(dir, 'identity'), store: Record<string, string> = minioWorkerEnv(stack.ctx)) => ({
    ...store,
    ...workerProcessEnv({ metadataKeys, chainSha256s: sha256s, backupId: ids[1], ageIdentity: { file: identityFile } }),
  });
  const recover = (v: ReturnType<typeof volume>, env = restoreEnv()) =>
    startSilo(['restore', 'physical', '--data-dir', v.data, '--work-dir', v.work], env, { detached: true });

  async function backup(index: number, incrementalLsn?: string): Promise<string> {
    const run = await runSilo(['backup', 'physical', '--instance-manager', `https://127.0.0.1:${(server.address() as AddressInfo).port}`], {
      ...minioWorkerEnv(stack.ctx),
      ...workerProcessEnv({
        dataKey: dataKeys[index],
        metadataKey: metadataKeys[index],
        backupId: ids[index],
        ...(incrementalLsn ? { backupType: 'incremental', parentBackupId: ids[index - 1], incrementalLsn } : {}),
        compression: { algorithm: 'zstd' },
        ageRecipients: [keys.recipient],
        tls: { caFile: join(dir, 'ca'), certFile: join(dir, 'cert'), keyFile: join(dir, 'key') },
      }),
    });
    expect(run.code, run.stderr.slice(-2000)).to.equal(0);
    const metadata = lastJson(run.stdout).metadata;
    sha256s.push(metadata.sha256);
    if (incrementalLsn) incrementalGtid = metadata.gtid.end;
    return metadata.lsn.to;
  }

  /** Starts mariadbd on a recovered data directory and compares CHECKSUM TABLE with the source. */
  async function checkDatadir(v: ReturnType<typeof volume>): Promise<void> {
    const state = JSON.parse(readFileSync(join(v.work, 'state.json'), 'utf8'));
    expect(state).to.deep.include({ origin: 'recovery', backupId: ids[1], gtid: incrementalGtid });
    expect(readdirSync(v.work)).to.deep.equal(['state.json']);
    const fresh = mariadbInstance(stack.ctx, `recovery-${port}`, port++, { datadir: v.data });
    await startMariadb(stack.ctx, fresh);
    try {
      expect(await checksumTables(fresh, seed)).to.deep.equal(expected);
    } finally {
      await stopMariadb(fresh);
      rmSync(fresh.dir, { recursive: true, force: true });
    }
  }

  const expectRecovered = (run: SiloRun, reusedLinks: number) => {
    expect(run.code, run.stderr.slice(-3000)).to.equal(0);
    expect(lastJson(run.stdout).recovery).to.deep.include({
      backupId: ids[1],
      gtid: incrementalGtid,
      alreadyRecovered: false,
      reusedLinks,
    });
  };

  async function flipStoredByte(key: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of await store.createReadStream(key)) parts.push(part as Buffer);
    const genuine = Buffer.concat(parts);
    const damaged = Buffer.from(genuine);
    damaged[Math.floor(damaged.length / 2)] ^= 0x01;
    await store.putSmall(key, damaged);
    return genuine;
  }

  before(async () => {
    await startMariadb(stack.ctx, source);
    dir = mkdtempSync(join(tmpdir(), 'silo-recovery-'));
    writeFileSync(join(dir, 'identity'), keys.identity);
    writeFileSync(join(dir, 'stranger'), stranger.identity);
    const pki = createPki(join(dir, 'pki'));
    for (const [name, value] of Object.entries({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }))
      writeFileSync(join(dir, name), value);
    server = createInstanceManagerServer({
      tls: { key: pki.serverKey, cert: pki.serverCert, clientCa: pki.ca },
      engine: createMysqlEngine({ connection: { socket: source.socket, user: 'root' }, instanceName: 'db-1' }),
      logger: createLogger({}, { write: () => undefined }),
      instanceName: 'db-1',
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    store = await createObjectStore(storeConfigFromEnv(minioWorkerEnv(stack.ctx)));
    seed = await seedDataset(source, { rows: 3000, database: 'silo_recovery' });
    const lsn = await backup(0);
    await mariadbSql(
      source,
      `UPDATE customers SET balance = balance + 7 WHERE id % 5 = 0;
      INSERT INTO orders (customer_id, amount, status, note) SELECT customer_id, amount * 3, 'shipped', 'after the full' FROM orders LIMIT 700;`,
      seed.database,
    );
    await backup(1, lsn);
    expected = await checksumTables(source, seed);
  });
  after(async () => {
    await new Promise((r) => server?.close(r));
    await stopMariadb(source);
    rmSync(source.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    // What the cases wrote (test/support/store-cleanup.ts says why): the chain and the `-no-redo` copies.
    for (const written of [prefix, `${prefix}-no-redo`]) await removeStorePrefix(minioWorkerEnv(stack.ctx), written);
  });

  it('refuses a flipped byte before DATA_DIR exists, recovers the chain from the genuine object, and is idempotent', async () => {
    const v = volume('flipped');
    const genuine = await flipStoredByte(dataKeys[1]);
    const refused = await recover(v).done;
    expect(refused.code, refused.stderr.slice(-3000)).to.equal(EXIT.checksumMismatch);
    expect(lastJson(refused.stdout)).to.deep.include({ outcome: 'failed', reason: 'checksumMismatch' });
    expect(lastJson(refused.stdout).error).to.match(/damaged|checksum mismatch/);
    expect(existsSync(v.data), 'DATA_DIR is never created for a damaged chain').to.equal(false);
    expect(existsSync(join(v.work, 'state.json'))).to.equal(false);

    await store.putSmall(dataKeys[1], genuine);
    const run = await recover(v).done;
    expectRecovered(run, 1); // the full was verified and extracted by the refused run
    const progress = parseRecoveryProgress(run.stderr);
    expect(progress).to.deep.include({ phase: 'finalizing', bytesTotal: progress!.bytesDone });
    const phases = run.stderr
      .split('\n')
      .filter((l) => l.includes('"recovery progress"'))
      .map((l) => JSON.parse(l).progress.phase);
    expect([...new Set(phases)]).to.deep.equal(['downloading', 'preparing', 'moving', 'finalizing']);
    expect(Object.keys(lastJson(run.stdout).recovery.durations).every((p) => (RECOVERY_PHASES as readonly string[]).includes(p))).to.equal(
      true,
    );
    await checkDatadir(v);

    // Done is done: the same command again changes nothing, without even reaching the store.
    const again = await recover(v, restoreEnv(undefined, { ...minioWorkerEnv(stack.ctx), SILO_S3_ENDPOINT: 'http://127.0.0.1:9' })).done;
    expect(again.code, again.stderr.slice(-2000)).to.equal(0);
    expect(lastJson(again.stdout).recovery).to.deep.include({ backupId: ids[1], alreadyRecovered: true });
  });

  it('SIGKILL during the download: a rerun of the same command completes', async () => {
    const v = volume('killed-downloading');
    const minio = new URL(minioWorkerEnv(stack.ctx).SILO_S3_ENDPOINT);
    const proxy = await gatedProxy({ host: minio.hostname, port: Number(minio.port) }, 512 * 1024);
    try {
      const worker = recover(
        v,
        restoreEnv(undefined, { ...minioWorkerEnv(stack.ctx), SILO_S3_ENDPOINT: `http://127.0.0.1:${proxy.port}` }),
      );
      await Promise.race([proxy.held, worker.done.then((r) => Promise.reject(new Error(`worker ended: ${r.stderr.slice(-2000)}`)))]);
      expect(existsSync(join(v.work, 'restore/staging-0')), 'the full is being extracted').to.equal(true);
      await killContainer(worker.child.pid!);
      expect((await worker.done).signal).to.equal('SIGKILL');
    } finally {
      await proxy.close();
    }
    expect(readJournal(join(v.work, 'restore/journal.json'))).to.deep.include({ verified: [false, false], prepared: false });
    expect(existsSync(v.data)).to.equal(false);
    const run = await recover(v).done;
    expectRecovered(run, 0);
    await checkDatadir(v);
  });

  it('SIGTERM stops the worker as interrupted (exit 14) with its children, and a rerun completes', async () => {
    const v = volume('terminated');
    const minio = new URL(minioWorkerEnv(stack.ctx).SILO_S3_ENDPOINT);
    const proxy = await gatedProxy({ host: minio.hostname, port: Number(minio.port) }, 512 * 1024);
    let stopped: SiloRun;
    try {
      const worker = recover(
        v,
        restoreEnv(undefined, { ...minioWorkerEnv(stack.ctx), SILO_S3_ENDPOINT: `http://127.0.0.1:${proxy.port}` }),
      );
      await Promise.race([proxy.held, worker.done.then((r) => Promise.reject(new Error(`worker ended: ${r.stderr.slice(-2000)}`)))]);
      const children = descendants(worker.child.pid!);
      expect(children, 'mbstream is extracting').to.not.deep.equal([]);
      process.kill(worker.child.pid!, 'SIGTERM');
      stopped = await worker.done;
      await until('the extractor to be gone', () => children.every((p) => !existsSync(`/proc/${p}`)), 10_000);
    } finally {
      await proxy.close();
    }
    expect(stopped.code, stopped.stderr.slice(-2000)).to.equal(EXIT.interrupted);
    expect(lastJson(stopped.stdout)).to.deep.include({ outcome: 'failed', reason: 'interrupted' });
    expect(existsSync(join(v.work, 'state.json'))).to.equal(false);
    expectRecovered(await recover(v).done, 0);
  });

  it('SIGKILL during prepare: a rerun downloads what prepare had touched and completes', async () => {
    const v = volume('killed-preparing');
    const worker = recover(v);
    let ended: SiloRun | undefined;
    void worker.done.then((r) => (ended = r));
    await until('mariabackup --prepare to run', () => preparing(worker.child.pid!) || ended !== undefined);
    expect(ended, ended?.stderr.slice(-2000)).to.equal(undefined);
    await killContainer(worker.child.pid!);
    expect((await worker.done).signal).to.equal('SIGKILL');
    const journal = readJournal(join(v.work, 'restore/journal.json'))!;
    expect(journal).to.deep.include({ verified: [true, true], prepared: false });
    expect(journal.preparing).to.be.oneOf([0, 1]);
    expect(existsSync(join(v.work, 'state.json'))).to.equal(false);
    const run = await recover(v).done;
    // Links up to the one being applied were modified by prepare: downloaded again; the rest are kept.
    expectRecovered(run, ids.length - 1 - journal.preparing!);
    await checkDatadir(v);
  });

  it('a volume that fills up is volumeFull (exit 18), not a restore or storage failure', async () => {
    const v = volume('full');
    execFileSync('mkdir', ['-p', v.root]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', v.root]);
    try {
      const run = await recover(v).done;
      expect(run.code, run.stderr.slice(-2000)).to.equal(EXIT.volumeFull);
      expect(lastJson(run.stdout)).to.deep.include({ outcome: 'failed', reason: 'volumeFull' });
      expect(lastJson(run.stdout).error).to.match(/ran out of disk space on the volume: .*No space left on device/);
      expect(readdirSync(join(v.work, 'restore')), 'the partial extraction is removed').to.deep.equal(['journal.json']);
    } finally {
      execFileSync('umount', [v.root]);
    }
  });

  it('a wrong age identity is a decryption failure, found before anything on the volume changes', async () => {
    const v = volume('wrong-identity');
    const run = await recover(v, restoreEnv(join(dir, 'stranger'))).done;
    expect(run.code, run.stderr.slice(-2000)).to.equal(EXIT.decryption);
    expect(lastJson(run.stdout)).to.deep.include({ outcome: 'failed', reason: 'decryption' });
    expect(lastJson(run.stdout).error).to.match(/no age identity matches this file/);
    expect(existsSync(v.root)).to.equal(false);
  });
  /** Runs the worker until the paused command is reached, SIGKILLs it there, and returns the journal it left. */
  async function killAt(v: ReturnType<typeof volume>, pause: ReturnType<typeof pauseAt>) {
    const worker = recover(v, { ...restoreEnv(), ...pause.env });
    let ended: SiloRun | undefined;
    void worker.done.then((r) => (ended = r));
    await until('the paused step', () => existsSync(pause.reached) || ended !== undefined);
    expect(ended, ended?.stderr.slice(-2000)).to.equal(undefined);
    await killContainer(worker.child.pid!);
    expect((await worker.done).signal).to.equal('SIGKILL');
    return readJournal(join(v.work, 'restore/journal.json'))!;
  }

  it('SIGKILL during moving (the datadir filled, the step not recorded): a rerun clears it and moves again from the prepared base, downloading nothing', async () => {
    const v = volume('killed-moving');
    const journal = await killAt(v, pauseAt(dir, 'mariabackup', `--datadir=${v.data}`, 'after'));
    expect(journal).to.deep.include({ verified: [true, true], prepared: true, placing: true });
    expect(readdirSync(v.data), 'move-back placed the files').to.include('ibdata1');
    expect(existsSync(join(v.work, 'state.json'))).to.equal(false);
    const run = await recover(v).done;
    expectRecovered(run, ids.length);
    expect(lastJson(run.stdout).recovery.placement).to.equal('move-back');
    await checkDatadir(v);
  });

  it('SIGKILL during finalizing (the datadir placed, before the state file): a rerun places it again and completes', async () => {
    const v = volume('killed-finalizing');
    const journal = await killAt(v, pauseAt(dir, 'sync', `-f ${v.data}`, 'before'));
    expect(journal).to.deep.include({ prepared: true, placing: true });
    expect(readdirSync(v.data)).to.include('ibdata1');
    expect(existsSync(join(v.work, 'state.json'))).to.equal(false);
    expectRecovered(await recover(v).done, ids.length);
    await checkDatadir(v);
  });

  it('an archive mariabackup cannot prepare (a backup whose redo log was lost) is prepareFailed (exit 16); nothing reaches DATA_DIR', async () => {
    // A real backup of the source without its redo log, stored as a verified full backup of its own.
    const raw = join(dir, 'no-redo');
    execFileSync(
      'mariabackup',
      ['--backup', `--target-dir=${raw}`, `--databases=${seed.database}`, '--user=root', `--socket=${source.socket}`],
      { stdio: 'ignore' },
    );
    for (const name of readdirSync(raw).filter((n) => /^ib_logfile/.test(n))) rmSync(join(raw, name));
    const files = execFileSync('find', ['.', '-type', 'f', '-printf', '%P\n'], { cwd: raw, encoding: 'utf8' }).trim().split('\n');
    const archive = execFileSync('mbstream', ['-c', ...files], { cwd: raw, maxBuffer: 1 << 30 });
    const id = '20261203T000000Z';
    const key = `${prefix}-no-redo/${id}`;
    const metadata = await readBackupMetadata(store, metadataKeys[0]);
    const sha256 = createHash('sha256').update(archive).digest('hex');
    await store.putSmall(`${key}/backup.xbstream`, archive);
    const doc = {
      ...metadata,
      backupId: id,
      objectKey: `${key}/backup.xbstream`,
      sha256,
      codec: { compression: 'none', encryption: 'none' },
      sizes: { storedBytes: archive.length },
    };
    await store.putSmall(`${key}/metadata.json`, Buffer.from(JSON.stringify(doc)), 'application/json');
    const v = volume('unpreparable');
    const run = await recover(v, {
      ...minioWorkerEnv(stack.ctx),
      ...workerProcessEnv({ metadataKeys: [`${key}/metadata.json`], chainSha256s: [sha256], backupId: id }),
    }).done;
    expect(run.code, run.stderr.slice(-2000)).to.equal(EXIT.prepareFailed);
    expect(lastJson(run.stdout)).to.deep.include({ outcome: 'failed', reason: 'prepareFailed' });
    expect(lastJson(run.stdout).error).to.match(/mariabackup --prepare of 20261203T000000Z failed: /);
    expect(existsSync(v.data) ? readdirSync(v.data) : []).to.deep.equal([]);
    expect(existsSync(join(v.work, 'state.json'))).to.equal(false);
  });

  it('a data directory mariabackup cannot write (a read-only filesystem) is copyBackFailed (exit 17), with no state file', async () => {
    const v = volume('read-only-datadir');
    execFileSync('mkdir', ['-p', v.data]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', v.data]);
    try {
      const run = await recover(v).done;
      expect(run.code, run.stderr.slice(-2000)).to.equal(EXIT.copyBackFailed);
      expect(lastJson(run.stdout)).to.deep.include({ outcome: 'failed', reason: 'copyBackFailed' });
      expect(lastJson(run.stdout).error).to.match(/mariabackup --copy-back into .* failed: /);
      expect(existsSync(join(v.work, 'state.json'))).to.equal(false);
    } finally {
      execFileSync('umount', [v.data]);
    }
  });
});
