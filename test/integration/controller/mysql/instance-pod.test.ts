/**
 * Instance Pods from the Cluster builders (runtime/controller/mysql/cluster/) on the real stack: the
 * process kubelet runs `silo instance init`, `silo instance db` and `silo instance-manager` from this
 * checkout against Debian's MariaDB. A primary initialises its volume; a replica clones it over
 * mTLS (no object store) and replicates from the clone's GTID position, though the primary purged
 * the binary logs before it; a replica whose volume is deleted clones again, and one whose clone
 * is killed half-way completes in its next Pod without anyone cleaning up.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { defaultInstanceSecrets, instancePod } from '../../../../runtime/controller/mysql/cluster/instance-pod.js';
import { instanceNameFor, instancePvc } from '../../../../runtime/controller/mysql/cluster/instance-pvc.js';
import type { MysqlStatusFields } from '../../../../runtime/contracts/instance-manager-protocol.js';
import type { VolumeState } from '../../../../runtime/contracts/instance-pod.js';
import type { ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { installOperatorPrerequisites } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import { createClusterPkiSecrets, type ClusterPki } from './support/cluster-pki.js';
import { holdProxy } from './support/hold-proxy.js';
import { waitReady } from './support/instance-pods.js';

const IMAGE = 'ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:10.11';
/** Quotes, backslashes and double quotes: the init-file, the option files and CHANGE MASTER must all keep them. */
const PASSWORDS = { manager: `ma'n\\ag"er`, replication: `re'pl\\ic"a`, backup: `ba"ck'u\\p` };
const APP = { database: 'shop', username: 'app', password: "app'pass" };

type Status = MysqlStatusFields & { instance: string };

describe('mysql instance Pods: a primary, and replicas that clone it over mTLS and replicate (process kubelet)', function () {
  this.timeout(900_000);
  const fx = useKube('instance-pod', { withKubelet: true });
  let pki: ClusterPki;
  let cluster: ClusterResource;
  let owner: V1OwnerReference;
  const ip: Record<string, string> = {};
  const uid: Record<string, string> = {};
  const links = mkdtempSync(join(tmpdir(), 'silo-sock-'));

  before(async function () {
    this.timeout(120_000);
    await installOperatorPrerequisites(); // the CRDs: the Cluster below owns the Pods
    pki = await createClusterPkiSecrets(fx.core, fx.namespace, 'db');
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'db-system-users' }, stringData: PASSWORDS },
    });
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'db-app' },
        type: 'kubernetes.io/basic-auth',
        stringData: { username: APP.username, password: APP.password },
      },
    });
    // A real owner: the garbage collector deletes Pods whose owner does not exist. No operator runs here.
    const created = await new CustomObjects(fx.kc).create(KINDS.Cluster, {
      metadata: { name: 'db', namespace: fx.namespace },
      spec: { instances: 2, storage: { size: '1Gi' } },
    });
    cluster = created as unknown as ClusterResource;
    const meta = created.metadata as { name: string; uid: string };
    owner = { apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1', kind: 'Cluster', name: meta.name, uid: meta.uid, controller: true };
  });

  after(() => rmSync(links, { recursive: true, force: true }));

  const podFor = (serial: number, primary?: { podIp: string; instanceName: string; instanceManagerPort?: number }): V1Pod => {
    const pod = instancePod({
      cluster,
      instanceName: instanceNameFor('db', serial),
      serial,
      role: primary ? 'replica' : 'primary',
      serverId: 100 + serial,
      primary,
      image: IMAGE,
      secrets: { ...defaultInstanceSecrets(cluster), appUser: 'db-app' },
      owner,
      appDatabase: APP.database,
      extraArgs: ['--innodb-buffer-pool-size=32M'],
    });
    return { ...pod, spec: { ...pod.spec!, schedulerName: fx.scheduler } };
  };

  const start = async (serial: number, primary?: Parameters<typeof podFor>[1], options: { newVolume?: boolean } = {}) => {
    const name = instanceNameFor('db', serial);
    if (options.newVolume !== false)
      await fx.core.createNamespacedPersistentVolumeClaim({
        namespace: fx.namespace,
        body: instancePvc({ cluster, instanceName: name, owner, serial }),
      });
    await fx.core.createNamespacedPod({ namespace: fx.namespace, body: podFor(serial, primary) });
    return name;
  };

  const ready = async (name: string) => {
    const pod = await waitReady(fx.core, fx.namespace, name, 300_000);
    ip[name] = pod.status!.podIP!;
    uid[name] = pod.metadata!.uid!;
    return pod;
  };

  const gone = async (name: string, volume: boolean) => {
    await fx.core.deleteNamespacedPod({ namespace: fx.namespace, name, gracePeriodSeconds: 30 });
    if (volume) await fx.core.deleteNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name });
    await waitFor(
      `${name} gone`,
      async () => {
        const pods = await fx.core.listNamespacedPod({ namespace: fx.namespace, fieldSelector: `metadata.name=${name}` });
        const claims = await fx.core.listNamespacedPersistentVolumeClaim({
          namespace: fx.namespace,
          fieldSelector: `metadata.name=${name}`,
        });
        return pods.items.length === 0 && (!volume || claims.items.length === 0);
      },
      90_000,
    );
  };

  /** The instance's volume on this machine (the process kubelet's hostPath PV). */
  const volumeDir = async (name: string) => {
    const claim = await fx.core.readNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name });
    return join(fx.kubeletStateDir, 'pvc', fx.namespace, `${name}-${claim.metadata!.uid}`);
  };
  const volumeState = async (name: string): Promise<VolumeState> =>
    JSON.parse(readFileSync(join(await volumeDir(name), 'silo', 'state.json'), 'utf8'));

  /** The instance manager over mTLS, as the backup worker (or the Cluster reconciler) calls it. */
  const im = (name: string, method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        `https://${ip[name]}:8443${path}`,
        {
          method,
          ca: pki.ca,
          cert: pki.clientCert,
          key: pki.clientKey,
          servername: 'db-instance-manager',
          headers: { 'content-type': 'application/json' },
        },
        (response) => {
          let text = '';
          response.on('data', (c) => (text += c)).on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    });
  const status = async (name: string) => (await im(name, 'GET', '/status')).json as unknown as Status;

  /** The app user over TCP on the pod IP: mariadbd listens there (and only there). */
  const appSql = (name: string, sql: string) =>
    execFileSync(
      'mariadb',
      [
        '--no-defaults',
        '-h',
        ip[name],
        '-P',
        '3306',
        '-u',
        APP.username,
        `--password=${APP.password}`,
        '-N',
        '-B',
        APP.database,
        '-e',
        sql,
      ],
      { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] },
    ).trim();
  /** root through the Pod's socket (unix_socket authentication: this test runs as root), by a short link to its emptyDir. */
  const rootSql = (name: string, sql: string) => {
    const link = join(links, name);
    rmSync(link, { force: true });
    symlinkSync(join(fx.kubeletStateDir, 'pods', uid[name], 'volumes', 'run', 'mysqld.sock'), link);
    return execFileSync('mariadb', ['--no-defaults', `--socket=${link}`, '-u', 'root', '-N', '-B', '-e', sql], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  };

  const caughtUp = (replica: string, primary: string) =>
    waitFor(
      `${replica} at the primary's GTID position`,
      async () => {
        const [p, r] = [await status(primary), await status(replica)];
        return p.gtidBinlogPos && r.gtidSlavePos === p.gtidBinlogPos ? r : undefined;
      },
      120_000,
    );

  const bootstrapLog = (name: string) => fx.core.readNamespacedPodLog({ namespace: fx.namespace, name, container: 'bootstrap' });

  it('a primary initialises its volume, serves on its pod IP with the app user, and its binary logs are purged', async () => {
    await start(1);
    await ready('db-1');
    expect(await volumeState('db-1')).to.include({ origin: 'initdb' });
    appSql('db-1', 'CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB');
    appSql('db-1', "INSERT INTO orders SELECT seq, CONCAT('order-', seq) FROM seq_1_to_500");
    // Something worth streaming: 24 MiB that compress to about as much.
    appSql('db-1', 'CREATE TABLE blobs (id INT PRIMARY KEY, b BLOB) ENGINE=InnoDB');
    for (let i = 0; i < 4; i++)
      appSql('db-1', `INSERT INTO blobs SELECT seq, RANDOM_BYTES(1024) FROM seq_${i * 6000 + 1}_to_${(i + 1) * 6000}`);
    rootSql('db-1', 'FLUSH BINARY LOGS');
    // A log is purged once InnoDB has checkpointed past it and its timestamp is before NOW(): a second or two.
    const logs = await waitFor(
      'the binary logs with the first GTIDs purged',
      async () => {
        rootSql('db-1', 'PURGE BINARY LOGS BEFORE NOW()');
        const left = rootSql('db-1', 'SHOW BINARY LOGS').split('\n');
        return left.length === 1 ? left : undefined;
      },
      30_000,
    );
    expect(logs[0]).to.not.match(/^mysql-bin\.000001\t/);
    const s = await status('db-1');
    expect(s).to.deep.include({ instance: 'db-1', serverId: 101, readOnly: false, replication: null });
    expect(s.gtidBinlogPos).to.match(/^0-101-\d+$/);
    // Nothing of the init-file reached the binary log: every GTID is one of the app's writes (2 DDL + 5 inserts).
    expect(s.gtidBinlogPos).to.equal('0-101-7');
  });

  it('a replica clones the primary over mTLS, replicates from the clone onwards, and reports it in /status', async () => {
    await start(2, { podIp: ip['db-1'], instanceName: 'db-1' });
    await ready('db-2');
    const state = await volumeState('db-2');
    expect(state).to.deep.include({ origin: 'clone', clonedFrom: 'db-1', gtid: '0-101-7' });
    expect(existsSync(join(await volumeDir('db-2'), 'silo', 'clone')), 'the staging folder is gone').to.equal(false);
    appSql('db-1', "INSERT INTO orders SELECT seq, 'after the clone' FROM seq_501_to_600");
    appSql('db-1', "UPDATE orders SET note = 'updated' WHERE id <= 10");
    const r = await caughtUp('db-2', 'db-1');
    expect(r).to.deep.include({ instance: 'db-2', serverId: 102, readOnly: true });
    expect(r.replication).to.deep.include({ ioRunning: true, sqlRunning: true, masterHost: ip['db-1'] });
    expect(r.replication!.lastSqlErrno).to.equal(undefined);
    // No errant transaction: the replica's binary log holds the primary's GTIDs only.
    expect(r.gtidBinlogPos).to.not.match(/-102-/);
    expect(appSql('db-2', "SELECT COUNT(*), SUM(note = 'updated') FROM orders")).to.equal('600\t10');
    expect(appSql('db-2', 'SELECT COUNT(*) FROM blobs')).to.equal('24000');
    expect(() => appSql('db-2', 'INSERT INTO orders VALUES (9999, "x")')).to.throw(/read-only/);
  });

  it('POST /cluster/replication re-points a replica keeping its position, refuses a primary and a bad body', async () => {
    const primary = await im('db-1', 'POST', '/cluster/replication', { host: ip['db-2'] });
    expect(primary.status).to.equal(409);
    expect(primary.json.error).to.match(/writable.*primary/);
    expect((await im('db-2', 'POST', '/cluster/replication', '{"host": "x y"}')).status).to.equal(400);
    const moved = await im('db-2', 'POST', '/cluster/replication', { host: ip['db-1'], port: 3306 });
    expect(moved.status, JSON.stringify(moved.json)).to.equal(200);
    expect(moved.json).to.have.property('instance', 'db-2');
    appSql('db-1', "INSERT INTO orders VALUES (601, 'after the re-point')");
    const r = await caughtUp('db-2', 'db-1');
    expect(r.replication).to.deep.include({ ioRunning: true, sqlRunning: true, masterHost: ip['db-1'] });
    expect(appSql('db-2', 'SELECT note FROM orders WHERE id = 601')).to.equal('after the re-point');
  });

  it('a replica whose Pod and volume are deleted clones again into its new volume', async () => {
    await gone('db-2', true);
    await start(2, { podIp: ip['db-1'], instanceName: 'db-1' });
    await ready('db-2');
    expect(await volumeState('db-2')).to.deep.include({ origin: 'clone', clonedFrom: 'db-1' });
    appSql('db-1', "INSERT INTO orders VALUES (602, 'after the second clone')");
    await caughtUp('db-2', 'db-1');
    expect(appSql('db-2', 'SELECT COUNT(*) FROM orders')).to.equal('602');
  });

  it('a clone killed half-way (its Pod deleted while it streams) completes in the next Pod without any cleanup', async () => {
    await gone('db-2', true);
    // The new Pod clones through a proxy that passes 4 MiB of the stream and then holds it.
    const proxy = await holdProxy({ host: ip['db-1'], port: 9443 }, 8443, 4 * 1024 * 1024);
    try {
      await start(2, { podIp: ip['db-1'], instanceName: 'db-1', instanceManagerPort: 9443 });
      await proxy.holding;
      const volume = await volumeDir('db-2');
      const staged = await waitFor(
        'clone files in the staging folder',
        // An empty list is truthy: wait for the first file, not only the folder (a loaded CI run read it empty).
        async () => {
          const files = existsSync(join(volume, 'silo', 'clone')) ? readdirSync(join(volume, 'silo', 'clone')) : [];
          return files.length > 0 ? files : undefined;
        },
        30_000,
      );
      expect(staged.length).to.be.greaterThan(0);
      await gone('db-2', false);
      expect(existsSync(join(volume, 'silo', 'state.json')), 'no state file after a killed clone').to.equal(false);
      expect(readdirSync(join(volume, 'silo', 'clone')).length, 'the killed clone left files behind').to.be.greaterThan(0);
    } finally {
      await proxy.close();
    }
    // Same volume, a new Pod that reaches the primary directly.
    await start(2, { podIp: ip['db-1'], instanceName: 'db-1' }, { newVolume: false });
    await ready('db-2');
    expect(await bootstrapLog('db-2')).to.match(/HALF-FILLED VOLUME/);
    expect(await volumeState('db-2')).to.deep.include({ origin: 'clone', clonedFrom: 'db-1' });
    appSql('db-1', "INSERT INTO orders VALUES (603, 'after the killed clone')");
    const r = await caughtUp('db-2', 'db-1');
    expect(r.replication).to.deep.include({ ioRunning: true, sqlRunning: true });
    expect(appSql('db-2', 'SELECT COUNT(*) FROM orders')).to.equal('603');
    expect(appSql('db-2', 'SELECT COUNT(*) FROM blobs')).to.equal('24000');
  });
});
