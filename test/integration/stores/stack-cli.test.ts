// The stack's own contract: `status` and `env` as a person or CI uses them, and
// every server it started listening on loopback only.
import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { readPid } from '../../stack/lib/proc.js';
import { run } from '../../stack/lib/run.js';
import { useStack } from '../../stack/mocha.js';

const mine = ['minio', 'rgw', 'azurite', 'gcs', 'mariadb', 'postgres'];
const stack = useStack(...mine);
const cli = (...args: string[]) => run('npx', ['tsx', 'test/stack/cli.ts', ...args], { allowFailure: true });

/** How deep under the stack root its servers' PID files lie (see recordedPids). */
const PID_FILE_DEPTH = 3;

/**
 * Every PID file the stack's servers write: at most three levels under the stack root (`<root>/minio/http/minio.pid`,
 * `<root>/kube/etcd.pid`). Not deeper: below lie the servers' data and the Pods' volumes (a day of runs left half a
 * million files there, and a walk of them took this test past its timeout), and a volume's postmaster.pid names a
 * process long gone. Servers keep writing under the root meanwhile (MinIO's .trash), so an entry may vanish between
 * the listing and the visit: the listing's own file types, no stat.
 */
function recordedPids(dir: string, depth = 0): number[] {
  const pids: number[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return pids;
    throw e;
  }
  for (const entry of entries) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < PID_FILE_DEPTH - 1) pids.push(...recordedPids(p, depth + 1));
    } else if (entry.name.endsWith('.pid')) {
      const pid = readPid(p);
      if (pid) pids.push(pid);
    }
  }
  return pids;
}

describe('stack CLI and loopback-only servers', function () {
  this.timeout(60_000);

  it('`stack status` reports every running component as up and exits 0', async () => {
    const r = await cli('status', ...mine);
    expect(r.code, r.stderr).to.equal(0);
    for (const name of mine) expect(r.stdout).to.match(new RegExp(`^${name}\\s+up$`, 'm'));
  });

  it('`stack status` exits non-zero for a component that is down', async () => {
    const r = await cli('status', 'nosuch');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('unknown stack component "nosuch"');
  });

  it('`stack env` prints only export lines, which bash can eval', async () => {
    const r = await cli('env', ...mine);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    for (const l of lines) expect(l).to.match(/^export [A-Za-z_][A-Za-z0-9_]*='[^']*'$/);
    const probe = await run('bash', ['-c', `eval "$(cat)"; echo "$MINIO_ENDPOINT|$RGW_ENDPOINT|$PGPORT|$MARIADB_SOCKET"`], {
      input: r.stdout,
    });
    const e = stack.env();
    expect(probe.stdout.trim()).to.equal(`${e.MINIO_ENDPOINT}|${e.RGW_ENDPOINT}|${e.PGPORT}|${e.MARIADB_SOCKET}`);
  });

  it('`mc` from the cache talks to MinIO through the exported alias (ls, pipe, cat)', async () => {
    const e = stack.env();
    const mc = (...args: string[]) =>
      run(e.MC_BIN, ['--config-dir', join(stack.ctx.root, 'mc'), ...args], {
        env: { ...process.env, MC_HOST_silo: e.MC_HOST_silo },
        input: args[0] === 'pipe' ? 'piped through mc\n' : undefined,
      });
    expect((await mc('ls', 'silo/')).stdout).to.contain(e.MINIO_BUCKET);
    // Benchmarks stream with `mc pipe`; it must work against the stack as configured.
    const key = `silo/${e.MINIO_BUCKET}/mc-pipe-${Date.now()}`;
    await mc('pipe', key);
    expect((await mc('cat', key)).stdout).to.equal('piped through mc\n');
  });

  it('nothing the stack started listens on a non-loopback address', async () => {
    const pids = new Set(recordedPids(stack.ctx.root));
    expect(pids.size).to.be.greaterThan(5);
    const ss = await run('ss', ['-H', '-ltnup']);
    const ours = ss.stdout.split('\n').filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => pids.has(Number(m[1]))));
    expect(ours.length, 'our servers should be listening').to.be.greaterThan(5);
    for (const line of ours) {
      const local = line.trim().split(/\s+/)[4];
      expect(local, line).to.match(/^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/);
    }
  });
});
