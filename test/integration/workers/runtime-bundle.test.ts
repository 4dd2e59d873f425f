// The image's `silo` (build/silo from `npm run build:runtime`): the split bundle behind its launcher
// (decisions 0011, 0015, 0016). Nothing else in the suite runs the bundle, so this is what catches a
// chunk that no longer loads or a cloud SDK pulled back into every worker.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { expect } from 'chai';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { useStack } from '../../stack/mocha.js';
import { azuriteWorkerEnv, gcsWorkerEnv, minioWorkerEnv } from '../../support/worker-store-env.js';

const stack = useStack('minio', 'azurite', 'gcs');

const root = resolve(import.meta.dirname, '../../..');
const build = join(root, 'build');
/**
 * Every `silo` run here is a spawnSync, which blocks this file's event loop: mocha's timeout cannot fire during it,
 * so a worker that never ends (a store that stops answering mid-upload) would hold the whole run. Killed after a
 * minute instead, it fails its test with its output (each run takes a few seconds).
 */
const RUN = { timeout: 60_000, killSignal: 'SIGKILL' } as const;
/** What a run printed, and why it ended if it was killed: the message of a failed status check. */
const told = (r: ReturnType<typeof spawnSync>): string => `${r.error ? `${r.error.message}\n` : ''}${String(r.stdout)}${String(r.stderr)}`;

/** Every module the entry loads before any dynamic import: the static import graph from build/silo-cli.mjs. */
function staticallyLoaded(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /(?:^|[;\n])\s*(?:import\s*(?:[^'"();]*?\s*from\s*)?|export\s*[^'"();]*?\s*from\s*)["'](\.\.?\/[^"']+)["']/g,
    )) {
      visit(resolve(dirname(file), match[1]));
    }
  };
  visit(entry);
  return [...seen];
}

describe('the runtime bundle (build/silo)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    execFileSync('bash', [join(root, 'scripts/build-runtime.sh')], { stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'silo-bundle-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads no cloud SDK and no Kubernetes client until a command needs one', () => {
    const loaded = staticallyLoaded(join(build, 'silo-cli.mjs'));
    expect(loaded.length).to.be.greaterThan(1);
    const text = loaded.map((file) => readFileSync(file, 'utf8')).join('\n');
    // esbuild keeps a `// node_modules/<package>/…` comment above each bundled module.
    for (const heavy of ['@aws-sdk/client-s3', '@azure/storage-blob', '@google-cloud/storage', '@kubernetes/client-node']) {
      expect(text, `${heavy} in the statically loaded chunks`).to.not.include(`node_modules/${heavy}/`);
    }
    const all = execFileSync('find', [build, '-name', '*.mjs']).toString();
    expect(all).to.match(/chunks\/s3-store-/);
  });

  it("backs up and restores through the launcher, which sets the worker's memory settings for the worker, not the programs it starts", () => {
    const keys = generateAgeKeyPair();
    const identityFile = join(dir, 'identity');
    execFileSync('sh', ['-c', `printf '%s\\n' "$0" > "$1"`, keys.identity, identityFile]);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SILO_STORE_TYPE: 'filesystem',
      SILO_FS_ROOT: join(dir, 'store'),
      SILO_DATA_KEY: 'b/data',
      SILO_BACKUP_ID: '20261122T000000Z',
      SILO_COMPRESSION: 'zstd',
      SILO_AGE_RECIPIENTS: keys.recipient,
      SILO_LOG_LEVEL: 'warn',
      SILO_TERMINATION_LOG: join(dir, 'termination-log'),
    };
    delete env.MALLOC_ARENA_MAX;
    delete env.MALLOC_MMAP_THRESHOLD_;
    // The backed-up "database" prints the settings its parent (the worker) started with, from the environment
    // glibc read (/proc/<pid>/environ keeps it), and the ones it inherited itself.
    const settings =
      'echo "worker: $(tr "\\0" "\\n" < /proc/$PPID/environ | grep -E "^MALLOC_(ARENA_MAX|MMAP_THRESHOLD_)=" | sort | tr "\\n" " ")' +
      'single-threaded-gc=$(tr "\\0" "\\n" < /proc/$PPID/cmdline | grep -cx -- --single-threaded-gc); ' +
      'child: arena=${MALLOC_ARENA_MAX-unset} mmap=${MALLOC_MMAP_THRESHOLD_-unset} marker=${SILO_LAUNCHER_SET-unset}"';
    const expected =
      'worker: MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=262144 single-threaded-gc=1; child: arena=unset mmap=unset marker=unset\n';
    const backup = spawnSync(join(build, 'silo'), ['backup', 'command', '--', 'sh', '-c', `${settings}; head -c 3000000 /dev/zero`], {
      env,
      ...RUN,
    });
    expect(backup.status, told(backup)).to.equal(0);
    const result = JSON.parse(backup.stdout.toString().trim().split('\n').pop()!);
    expect(result.metadata.sizes.sourceBytes).to.equal(3_000_000 + expected.length);

    const firstLine = join(dir, 'first-line');
    const restore = spawnSync(
      join(build, 'silo'),
      ['restore', 'command', '--', 'sh', '-c', 'head -n 1 > "$0"; cat > /dev/null', firstLine],
      {
        env: { ...env, SILO_METADATA_KEY: 'b/data.metadata.json', SILO_AGE_IDENTITY_FILE: identityFile },
        ...RUN,
      },
    );
    expect(restore.status, told(restore)).to.equal(0);
    expect(readFileSync(firstLine, 'utf8')).to.equal(expected);

    // A value the Pod sets itself is the user's: it reaches the programs the worker starts too.
    const own = spawnSync(join(build, 'silo'), ['backup', 'command', '--', 'sh', '-c', settings], {
      env: { ...env, SILO_DATA_KEY: 'b/own', MALLOC_ARENA_MAX: '4' },
      ...RUN,
    });
    expect(own.status, told(own)).to.equal(0);
    const restoredOwn = join(dir, 'own');
    const ownRestore = spawnSync(join(build, 'silo'), ['restore', 'command', '--', 'sh', '-c', 'cat > "$0"', restoredOwn], {
      env: { ...env, SILO_DATA_KEY: 'b/own', SILO_METADATA_KEY: 'b/own.metadata.json', SILO_AGE_IDENTITY_FILE: identityFile },
      ...RUN,
    });
    expect(ownRestore.status, told(ownRestore)).to.equal(0);
    expect(readFileSync(restoredOwn, 'utf8')).to.equal(
      'worker: MALLOC_ARENA_MAX=4 MALLOC_MMAP_THRESHOLD_=262144 single-threaded-gc=1; child: arena=4 mmap=unset marker=unset\n',
    );
  });

  // The sources pass every store test under tsx, but only the bundle renames classes: node-fetch (under
  // the GCS client) checks `signal.constructor.name === 'AbortSignal'`, and without --keep-names every
  // GCS upload from the image failed with "Expected signal to be an instanceof AbortSignal".
  const stores: Array<{ name: string; env: () => Record<string, string> }> = [
    { name: 'S3 (MinIO)', env: () => minioWorkerEnv(stack.ctx) },
    { name: 'Azure (Azurite)', env: azuriteWorkerEnv },
    { name: 'GCS (fake-gcs-server)', env: gcsWorkerEnv },
  ];
  for (const store of stores) {
    it(`backs up to ${store.name} and restores from it, with the store's chunk loaded from the bundle`, () => {
      const keys = generateAgeKeyPair();
      const identityFile = join(dir, `identity-${store.env().SILO_STORE_TYPE}`);
      execFileSync('sh', ['-c', `printf '%s\\n' "$0" > "$1"`, keys.identity, identityFile]);
      const key = `bundle/${Date.now()}/data`;
      const env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...store.env(),
        SILO_DATA_KEY: key,
        SILO_BACKUP_ID: '20261122T000000Z',
        SILO_COMPRESSION: 'zstd',
        SILO_AGE_RECIPIENTS: keys.recipient,
        SILO_LOG_LEVEL: 'warn',
        SILO_TERMINATION_LOG: join(dir, 'termination-log'),
      };
      // 12 MiB of random bytes: more than one part or block, so the multipart path runs too.
      const source = join(dir, 'random');
      execFileSync('sh', ['-c', `head -c ${12 * 1024 * 1024} /dev/urandom > "$0"`, source]);
      const backup = spawnSync(join(build, 'silo'), ['backup', 'command', '--', 'cat', source], { env, ...RUN });
      expect(backup.status, told(backup)).to.equal(0);
      // Node's warnings (the AWS SDK's Node-version notice, for one) are JSON lines too, like every other log line.
      const plain = backup.stderr
        .toString()
        .split('\n')
        .filter((line) => line && !line.startsWith('{'));
      expect(plain, 'log lines that are not JSON').to.deep.equal([]);
      const restored = join(dir, 'restored');
      const restore = spawnSync(join(build, 'silo'), ['restore', 'command', '--', 'sh', '-c', 'cat > "$0"', restored], {
        env: { ...env, SILO_METADATA_KEY: `${key}.metadata.json`, SILO_AGE_IDENTITY_FILE: identityFile },
        ...RUN,
      });
      expect(restore.status, told(restore)).to.equal(0);
      expect(readFileSync(restored).equals(readFileSync(source)), 'restored bytes equal the source').to.equal(true);
    });
  }
});
