// The images users run (`npm run images`, images/Containerfile; decision 0150), run with podman against the
// stack's MinIO and MariaDB on the host network. The silo image streams a mariadb-dump to MinIO and back; the
// mysql-instance image runs an instance Pod exactly as the Cluster reconciler renders it (instance-pod.ts),
// serves a physical backup to the silo image's worker, and recovers that backup into a new volume that it
// then serves. The stack's `images` component builds them; a test fails, never skips, when one is missing.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ClusterResource } from '../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { defaultInstanceSecrets, instancePod } from '../../../runtime/controller/mysql/cluster/instance-pod.js';
import { INSTANCE_MANAGER_PORT } from '../../../runtime/contracts/instance-manager-protocol.js';
import { INSTANCE_FS_GROUP } from '../../../runtime/contracts/instance-pod.js';
import { RESTORE_PIPE_BYTES } from '../../../runtime/datapath/sinks/process-sink.js';
import { mariadbInstance, mariadbSql, type MariadbInstance } from '../../stack/components/mariadb.js';
import { checksumTables, seedDataset } from '../../stack/datasets/mariadb-seed.js';
import { useStack } from '../../stack/mocha.js';
import {
  builtImages,
  engineArgs,
  ownedDir,
  podman,
  removeContainers,
  requireImage,
  runPod,
  type PodOnHost,
  type PodmanResult,
} from '../../support/images.js';
import { createPki, type Pki } from '../../support/pki.js';
import { lastJson } from '../../support/silo-cli.js';
import { minioWorkerEnv, workerProcessEnv } from '../../support/worker-store-env.js';

// `images` builds them first (test/stack/components/images.ts): the checkout under test, cached by buildah.
const stack = useStack('mariadb', 'minio', 'images');

/** The uids the images run as (images/Containerfile). */
const SILO_UID = 65532;
/** The Node the images are built on (images/versions.env; decision 0150). */
const IMAGE_NODE_VERSION = /^NODE_VERSION=(\S+)$/m.exec(
  readFileSync(join(import.meta.dirname, '../../../images/versions.env'), 'utf8'),
)?.[1];
const MYSQL_UID = INSTANCE_FS_GROUP;

const envFlags = (env: Record<string, string>) => Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const listening = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

const expectOk = (run: PodmanResult, what: string) => expect(run.code, `${what}: ${(run.stdout + run.stderr).slice(-3000)}`).to.equal(0);

describe('the images users run (npm run images), with podman', function () {
  this.timeout(600_000);
  const images = builtImages();
  const keys = generateAgeKeyPair();
  const prefix = `images/${Date.now()}`;
  const containers: string[] = [];
  let dir: string;

  before(async () => {
    await requireImage(images.silo);
    await requireImage(images.mysqlInstance);
    dir = mkdtempSync(join(tmpdir(), 'silo-images-'));
    chmodSync(dir, 0o755);
    // The identity file is read by the image's user.
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys', 'identity'), keys.identity + '\n', { mode: 0o644 });
  });
  after(async () => {
    await removeContainers(containers);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `silo <args>` in the silo image on the host network, with MinIO's worker env. */
  const siloInImage = (image: string, args: string[], env: Record<string, string>, volumes: string[] = []) =>
    podman([
      'run',
      '--rm',
      ...engineArgs(),
      '--network',
      'host',
      ...envFlags({ ...minioWorkerEnv(stack.ctx), ...env }),
      ...volumes,
      image,
      ...args,
    ]);

  describe('silo', () => {
    it("holds the silo command, the Node of images/versions.env, zstd and perl (a restore's 1 MiB pipe), runs as 65532, has OCI labels, and no compiler or npm package but the zstd addon", async () => {
      const probe = await podman([
        'run',
        '--rm',
        ...engineArgs(),
        '--entrypoint',
        'sh',
        images.silo,
        '-c',
        `id -u; node --version; zstd -q --version; perl -e 'pipe(R, W); print fcntl(R, 1031, 1048576), "\\n"'; ls /opt/silo/node_modules; for c in gcc cc g++ make python3 npm-check; do command -v $c || true; done; silo 2>/dev/null | tail -1`,
      ]);
      expectOk(probe, 'the probe');
      const [uid, node, zstd, pipeBytes, modules, ...rest] = probe.stdout.trim().split('\n');
      expect(uid).to.equal(String(SILO_UID));
      expect(node).to.equal(`v${IMAGE_NODE_VERSION}`);
      expect(zstd).to.match(/^v?1\.5\./);
      // What ProcessSink's widenPipe asks for, as the unprivileged user a Job runs as (decision 0025).
      expect(pipeBytes).to.equal(String(RESTORE_PIPE_BYTES));
      expect(modules).to.equal('zstd-napi');
      // No compiler on PATH; the last line is the result line of `silo` without a command.
      expect(rest).to.have.length(1);
      expect(JSON.parse(rest[0])).to.deep.include({ outcome: 'failed', reason: 'config' });
      const labels = JSON.parse((await podman(['image', 'inspect', '--format', '{{json .Labels}}', images.silo])).stdout);
      expect(labels['org.opencontainers.image.version']).to.equal(images.silo.split(':').pop());
      expect(labels['org.opencontainers.image.source']).to.match(/^https:\/\//);
      expect(labels['org.opencontainers.image.revision']).to.match(/^[0-9a-f]{40}$/);
    });

    it("backs up a mariadb-dump of the stack's MariaDB to MinIO (fifo, zstd, age) and restores it into a new database", async () => {
      const main = mariadbInstance(stack.ctx);
      const seed = await seedDataset(main, { rows: 3000, database: 'silo_images_src' });
      const share = ownedDir(join(dir, 'share'), SILO_UID);
      const key = `${prefix}/dump/20261204T000000Z/dump.sql`;
      const env = workerProcessEnv({
        dataKey: key,
        backupId: '20261204T000000Z',
        compression: { algorithm: 'zstd' },
        ageRecipients: [keys.recipient],
      });
      // The user's container of a BackupRun Pod, here on the host: the dump into the pipe, then its exit status.
      execFileSync('mkfifo', ['-m', '0666', join(share, 'data')]);
      const dump = spawn('sh', [
        '-c',
        `mariadb-dump --no-defaults --socket="$0" -uroot --single-transaction silo_images_src > "$1/data"; echo $? > "$1/status"`,
        main.socket,
        share,
      ]);
      const dumped = new Promise((resolve) => dump.once('exit', resolve));
      const backup = await siloInImage(images.silo, ['backup', 'fifo', '--data', '/share/data', '--status', '/share/status'], env, [
        '-v',
        `${share}:/share`,
      ]).finally(() => dump.kill());
      expectOk(backup, 'backup fifo');
      // The image's Node is one the S3 SDK supports: no NodeVersionSupportWarning in a worker's log (decision 0150).
      expect(backup.stdout + backup.stderr).to.not.include('NodeVersionSupportWarning');
      expect(await dumped).to.equal(0);
      const metadata = lastJson(backup.stdout).metadata;
      expect(metadata.codec).to.deep.include({ compression: 'zstd', encryption: 'age' });
      expect(metadata.sizes.sourceBytes).to.be.greaterThan(100_000);

      const restore = await siloInImage(
        images.silo,
        ['restore', 'command', '--', 'sh', '-c', 'cat > /share/restored.sql'],
        { ...env, SILO_METADATA_KEY: `${key}.metadata.json`, SILO_AGE_IDENTITY_FILE: '/keys/identity' },
        ['-v', `${share}:/share`, '-v', `${join(dir, 'keys')}:/keys:ro`],
      );
      expectOk(restore, 'restore command');
      await mariadbSql(main, 'DROP DATABASE IF EXISTS silo_images_dst; CREATE DATABASE silo_images_dst');
      const load = await loadSql(main, join(share, 'restored.sql'), 'silo_images_dst');
      expect(load, 'loading the restored dump').to.equal(0);
      // CHECKSUM TABLE names each table with its database: compare the checksums table by table.
      const checksums = async (database: string) =>
        Object.entries(await checksumTables(main, { ...seed, database })).map(([table, sum]) => [table.split('.')[1], sum]);
      expect(await checksums('silo_images_dst')).to.deep.equal(await checksums(seed.database));
    });
  });

  describe('mysql-instance', () => {
    let pki: Pki;
    const cluster = (name: string) =>
      ({
        apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
        kind: 'Cluster',
        metadata: { name, namespace: 'images', uid: `uid-${name}` },
        spec: { instances: 1, storage: { size: '1Gi' } },
      }) as unknown as ClusterResource;
    const owner = (name: string) => ({
      apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
      kind: 'Cluster',
      name,
      uid: `uid-${name}`,
      controller: true,
    });

    /** An instance Pod of `name` (serial 1) as the reconciler renders it, run on `ip` with its volume in `claim`. */
    async function startInstance(name: string, ip: string, claim: string, bootstrap: 'initdb' | 'recovery'): Promise<MariadbInstance> {
      const c = cluster(name);
      const secrets = defaultInstanceSecrets(c);
      const pod = instancePod({
        cluster: c,
        instanceName: `${name}-1`,
        serial: 1,
        role: 'primary',
        serverId: 1,
        image: images.mysqlInstance,
        secrets,
        owner: owner(name),
        extraArgs: ['--innodb-buffer-pool-size=64M'],
        bootstrap,
      });
      const host: PodOnHost = {
        ip,
        dir,
        // The Pod's fsGroup owns its volumes, as the kubelet would arrange.
        uid: pod.spec!.securityContext!.fsGroup!,
        claims: { [`${name}-1`]: claim },
        secrets: {
          [secrets.serverTLS]: { 'tls.crt': pki.serverCert, 'tls.key': pki.serverKey },
          [secrets.clientCA]: { 'ca.crt': pki.ca },
          [secrets.systemUsers]: { manager: 'manager-pw', replication: 'replication-pw', backup: 'backup-pw' },
        },
      };
      containers.push(...pod.spec!.containers.map((container) => `${name}-1-${container.name}`));
      await runPod(pod, host);
      const socket = join(dir, `${name}-1`, 'empty', 'run', 'mysqld.sock');
      await until(`${name}'s mariadbd socket`, () => existsSync(socket));
      await until(`${name}'s instance manager on ${ip}:${INSTANCE_MANAGER_PORT}`, () => listening(ip, INSTANCE_MANAGER_PORT));
      return { ...mariadbInstance(stack.ctx), name, socket, host: ip };
    }

    before(() => {
      // The server certificate names the Service a backup Job verifies: <cluster>-instance-manager.
      pki = createPki(join(dir, 'pki'), 'DNS:imgsrc-instance-manager');
      mkdirSync(join(dir, 'client-tls'));
      writeFileSync(join(dir, 'client-tls', 'ca.crt'), pki.ca);
      writeFileSync(join(dir, 'client-tls', 'tls.crt'), pki.clientCert);
      writeFileSync(join(dir, 'client-tls', 'tls.key'), pki.clientKey, { mode: 0o644 });
    });

    it("runs the reconciler's instance Pod, serves a physical backup to the silo image's worker, and recovers it in a new volume it then serves", async () => {
      const source = await startInstance('imgsrc', '127.77.0.1', ownedDir(join(dir, 'pvc-imgsrc'), MYSQL_UID), 'initdb');
      const seed = await seedDataset(source, { rows: 3000, database: 'silo_images_physical' });
      const expected = await checksumTables(source, seed);

      const id = '20261204T010000Z';
      const dataKey = `${prefix}/imgsrc/${id}/backup.xbstream`;
      const metadataKey = `${prefix}/imgsrc/${id}/metadata.json`;
      const backup = await siloInImage(
        images.silo,
        ['backup', 'physical', '--instance-manager', `https://127.77.0.1:${INSTANCE_MANAGER_PORT}`],
        workerProcessEnv({
          dataKey,
          metadataKey,
          backupId: id,
          compression: { algorithm: 'zstd' },
          ageRecipients: [keys.recipient],
          tls: { caFile: '/tls/ca.crt', certFile: '/tls/tls.crt', keyFile: '/tls/tls.key', serverName: 'imgsrc-instance-manager' },
        }),
        ['-v', `${join(dir, 'client-tls')}:/tls:ro`],
      );
      expectOk(backup, 'backup physical');
      const metadata = lastJson(backup.stdout).metadata;
      expect(metadata.sha256).to.match(/^[0-9a-f]{64}$/);

      // The recovery Job's command, in the instance image (it needs mariabackup and mbstream), on a new volume.
      const claim = ownedDir(join(dir, 'pvc-imgrec'), MYSQL_UID);
      const recovery = await siloInImage(
        images.mysqlInstance,
        ['restore', 'physical'],
        workerProcessEnv({
          metadataKeys: [metadataKey],
          chainSha256s: [metadata.sha256],
          backupId: id,
          ageIdentity: { file: '/keys/identity' },
        }),
        ['-v', `${claim}:/var/lib/mysql`, '-v', `${join(dir, 'keys')}:/keys:ro`],
      );
      expectOk(recovery, 'restore physical');
      expect(JSON.parse(readFileSync(join(claim, 'silo', 'state.json'), 'utf8'))).to.deep.include({ origin: 'recovery', backupId: id });

      const recovered = await startInstance('imgrec', '127.77.0.2', claim, 'recovery');
      expect(await checksumTables(recovered, seed)).to.deep.equal(expected);
    });
  });
});

/** Loads a SQL file into `database` with the host's mariadb client; resolves with its exit code. */
function loadSql(inst: MariadbInstance, file: string, database: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', 'mariadb --no-defaults --socket="$0" -uroot "$1" < "$2"', inst.socket, database, file], {
      stdio: 'inherit',
    });
    child.once('exit', resolve);
  });
}
