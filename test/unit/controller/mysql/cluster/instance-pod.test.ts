import { expect } from 'chai';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ClusterResource } from '../../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import {
  defaultInstanceSecrets,
  instancePod,
  TERMINATION_GRACE_SECONDS,
  type InstancePodInput,
} from '../../../../../runtime/controller/mysql/cluster/instance-pod.js';
import { instanceNameFor, instancePvc } from '../../../../../runtime/controller/mysql/cluster/instance-pvc.js';
import { CONTAINERS, DATA_DIR, MOUNTS, PVC_MOUNT, RUN_DIR, SOCKET } from '../../../../../runtime/contracts/instance-pod.js';
import { decodeInstanceManagerEnv, toProcessEnv } from '../../../../../runtime/contracts/worker-env.js';
import { decodeInstanceEnv } from '../../../../../runtime/instance/instance-env.js';

const cluster = (spec: Partial<ClusterResource['spec']> = {}): ClusterResource => ({
  apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'shop', namespace: 'prod', uid: 'cluster-uid' } as object,
  spec: { instances: 2, storage: { size: '5Gi' }, ...spec },
});
const owner = { apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1', kind: 'Cluster', name: 'shop', uid: 'cluster-uid', controller: true };

const input = (over: Partial<InstancePodInput> = {}): InstancePodInput => {
  const c = over.cluster ?? cluster();
  return {
    cluster: c,
    instanceName: instanceNameFor('shop', 1),
    serial: 1,
    role: 'primary',
    serverId: 101,
    image: 'ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:10.11',
    secrets: defaultInstanceSecrets(c),
    owner,
    ...over,
  };
};
const replicaInput = (over: Partial<InstancePodInput> = {}) =>
  input({
    instanceName: 'shop-2',
    serial: 2,
    role: 'replica',
    serverId: 102,
    primary: { podIp: '10.0.0.7', instanceName: 'shop-1' },
    ...over,
  });

const container = (pod: V1Pod, name: string): V1Container =>
  [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers].find((c) => c.name === name)!;
const mounts = (pod: V1Pod, name: string) =>
  Object.fromEntries((container(pod, name).volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
const secretsOf = (pod: V1Pod) => (pod.spec!.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : []));
/** A container's env as the kubelet computes it (fieldRefs filled as a Pod at 10.0.0.9 named after the instance). */
const processEnv = (pod: V1Pod, name: string) =>
  toProcessEnv(container(pod, name).env ?? [], { field: (path) => (path === 'status.podIP' ? '10.0.0.9' : pod.metadata!.name!) });

describe('Cluster instance Pod and PVC builders', () => {
  it('the PVC is named like the instance, sized and classed by the Cluster, owned and labelled', () => {
    const pvc = instancePvc({
      cluster: cluster({ storage: { size: '5Gi', storageClass: 'fast' } }),
      instanceName: 'shop-1',
      owner,
      serial: 1,
    });
    expect(pvc.metadata).to.deep.include({ name: 'shop-1', namespace: 'prod', ownerReferences: [owner] });
    expect(pvc.metadata!.labels).to.deep.equal({
      'app.kubernetes.io/managed-by': 'silo',
      'mysql.cloudnative-mysql.io/cluster': 'shop',
      'mysql.cloudnative-mysql.io/instance-name': 'shop-1',
    });
    expect(pvc.spec).to.deep.include({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      resources: { requests: { storage: '5Gi' } },
    });
    const explicit = instancePvc({ cluster: cluster(), instanceName: 'shop-2', size: '1Gi', storageClass: 'slow', owner });
    expect(explicit.spec).to.deep.include({ storageClassName: 'slow', resources: { requests: { storage: '1Gi' } } });
    expect(instancePvc({ cluster: cluster(), instanceName: 'shop-3', owner }).spec).to.not.have.property('storageClassName');
  });

  it('the Pod carries the contract labels, the server id, its serial and its owner; its PVC is the data volume', () => {
    const pod = instancePod(input());
    expect(pod.metadata).to.deep.include({ name: 'shop-1', namespace: 'prod', ownerReferences: [owner] });
    expect(pod.metadata!.labels).to.deep.equal({
      'app.kubernetes.io/managed-by': 'silo',
      'mysql.cloudnative-mysql.io/cluster': 'shop',
      'mysql.cloudnative-mysql.io/instance-name': 'shop-1',
      'mysql.cloudnative-mysql.io/instance-role': 'primary',
    });
    expect(pod.metadata!.annotations).to.deep.equal({
      'mysql.cloudnative-mysql.io/server-id': '101',
      'mysql.cloudnative-mysql.io/serial': '1',
    });
    expect(pod.spec!.volumes!.find((v) => v.name === 'data')).to.deep.equal({
      name: 'data',
      persistentVolumeClaim: { claimName: 'shop-1' },
    });
    expect(pod.spec!.volumes!.find((v) => v.name === 'run')).to.deep.equal({ name: 'run', emptyDir: {} });
    expect(pod.spec!.initContainers!.map((c) => c.name)).to.deep.equal([CONTAINERS.init]);
    expect(pod.spec!.containers.map((c) => c.name)).to.deep.equal([CONTAINERS.database, CONTAINERS.instanceManager]);
    expect(pod.spec!.terminationGracePeriodSeconds).to.equal(TERMINATION_GRACE_SECONDS).and.be.at.least(60);
    expect(pod.spec!.automountServiceAccountToken).to.equal(false);
  });

  it('runs silo instance init, silo instance db and silo instance-manager; the manager listens on the named port 8443', () => {
    const pod = instancePod(input());
    expect(container(pod, 'bootstrap').command).to.deep.equal(['silo', 'instance', 'init']);
    expect(container(pod, 'mariadb').command).to.deep.equal(['silo', 'instance', 'db']);
    const im = container(pod, 'instance-manager');
    expect(im.command).to.deep.equal(['silo', 'instance-manager']);
    expect(im.ports).to.deep.equal([{ name: 'instance-mgr', containerPort: 8443, protocol: 'TCP' }]);
    expect(im.readinessProbe?.tcpSocket?.port).to.equal(8443);
    expect(container(pod, 'mariadb').readinessProbe?.exec?.command).to.include(`--socket=${SOCKET}`).and.include('ping');
  });

  it('never mounts the backup client certificate; each container gets only the Secrets it uses', () => {
    for (const pod of [
      instancePod(input({ secrets: { ...defaultInstanceSecrets(cluster()), appUser: 'shop-app' } })),
      instancePod(replicaInput()),
    ]) {
      expect(secretsOf(pod)).to.not.include('shop-client-tls');
      expect(JSON.stringify(pod)).to.not.contain('client-tls');
    }
    const replica = instancePod(replicaInput());
    expect(mounts(replica, 'bootstrap')).to.deep.equal({
      [PVC_MOUNT]: 'data',
      [RUN_DIR]: 'run',
      [MOUNTS.serverCa]: 'server-ca',
      [MOUNTS.replicationTls]: 'replication-tls',
    });
    expect(mounts(replica, 'mariadb')).to.deep.equal({ [PVC_MOUNT]: 'data', [RUN_DIR]: 'run', [MOUNTS.systemUsers]: 'system-users' });
    expect(mounts(replica, 'instance-manager')).to.deep.equal({
      [PVC_MOUNT]: 'data',
      [RUN_DIR]: 'run',
      [MOUNTS.serverTls]: 'server-tls',
      [MOUNTS.clientCa]: 'client-ca',
      [MOUNTS.systemUsers]: 'system-users',
    });
    expect(secretsOf(replica)).to.have.members([
      'shop-server-tls',
      'shop-client-ca',
      'shop-system-users',
      'shop-server-ca',
      'shop-replication-tls',
    ]);
    const systemUsers = replica.spec!.volumes!.find((v) => v.name === 'system-users')!.secret!;
    expect(systemUsers.items!.map((i) => i.key)).to.deep.equal(['manager', 'replication', 'backup']);
  });

  it('a primary initialises its volume and mounts the app user; a replica clones over mTLS and replicates from its primary', () => {
    const primary = instancePod(input({ appDatabase: 'shop', secrets: { ...defaultInstanceSecrets(cluster()), appUser: 'shop-app' } }));
    expect(secretsOf(primary)).to.have.members(['shop-server-tls', 'shop-client-ca', 'shop-system-users', 'shop-app']);
    expect(mounts(primary, 'bootstrap')).to.deep.equal({ [PVC_MOUNT]: 'data', [RUN_DIR]: 'run' });
    expect(mounts(primary, 'mariadb')).to.include({ [MOUNTS.appUser]: 'app-user' });
    const primaryDb = decodeInstanceEnv(processEnv(primary, 'mariadb'));
    expect(primaryDb).to.deep.include({
      cluster: 'shop',
      instanceName: 'shop-1',
      role: 'primary',
      serverId: 101,
      appDatabase: 'shop',
      bootstrap: 'initdb',
    });
    expect(primaryDb).to.not.have.property('primary');

    const replica = instancePod(
      replicaInput({ appDatabase: 'shop', secrets: { ...defaultInstanceSecrets(cluster()), appUser: 'shop-app' } }),
    );
    expect(replica.metadata!.labels!['mysql.cloudnative-mysql.io/instance-role']).to.equal('replica');
    expect(secretsOf(replica)).to.not.include('shop-app');
    const init = decodeInstanceEnv(processEnv(replica, 'bootstrap'));
    expect(init).to.deep.include({
      role: 'replica',
      primary: { host: '10.0.0.7', instanceManager: 'https://10.0.0.7:8443', instanceName: 'shop-1' },
      tlsServerName: 'shop-instance-manager',
    });
    const db = decodeInstanceEnv(processEnv(replica, 'mariadb'));
    expect(db).to.deep.include({ role: 'replica', serverId: 102, bindAddress: '10.0.0.9' });
    expect(db.appDatabase).to.equal(undefined);
    const proxied = instancePod(replicaInput({ primary: { podIp: '10.0.0.7', instanceName: 'shop-1', instanceManagerPort: 9443 } }));
    expect(decodeInstanceEnv(processEnv(proxied, 'bootstrap')).primary?.instanceManager).to.equal('https://10.0.0.7:9443');
    expect(() => instancePod(replicaInput({ primary: undefined }))).to.throw(/is a replica: give it its primary/);
  });

  it('the instance manager connects through the socket as silo_manager, backs up as silo_backup, and reads passwords from files only', () => {
    const pod = instancePod(replicaInput());
    const env = container(pod, 'instance-manager').env!;
    expect(env.filter((v) => /PASSWORD/.test(v.name)).map((v) => v.value)).to.deep.equal([
      `${MOUNTS.systemUsers}/manager`,
      `${MOUNTS.systemUsers}/backup`,
      `${MOUNTS.systemUsers}/replication`,
    ]);
    expect(env.find((v) => v.name === 'SILO_IM_HOST')?.valueFrom?.fieldRef?.fieldPath).to.equal('status.podIP');
    const decoded = toProcessEnv(env, { field: (path) => (path === 'status.podIP' ? '10.0.0.9' : 'shop-2') });
    expect(decoded).to.include({
      SILO_DB_SOCKET: SOCKET,
      SILO_DB_USER: 'silo_manager',
      SILO_DB_BACKUP_USER: 'silo_backup',
      SILO_DB_REPLICATION_USER: 'silo_replication',
      SILO_IM_HOST: '10.0.0.9',
      POD_NAME: 'shop-2',
      SILO_IM_TLS_CERT_FILE: `${MOUNTS.serverTls}/tls.crt`,
      SILO_IM_CLIENT_CA_FILE: `${MOUNTS.clientCa}/ca.crt`,
    });
    // The decoder reads the PEM files; their paths are all this test checks.
    expect(() => decodeInstanceManagerEnv(decoded)).to.throw(/SILO_IM_TLS_KEY_FILE points at \/var\/run\/silo\/server-tls\/tls.key/);
    // No literal secret anywhere in the Pod: every env value is a name, a path, a number or a JSON list of options.
    for (const c of [...pod.spec!.initContainers!, ...pod.spec!.containers])
      for (const v of c.env ?? []) expect(v.valueFrom?.secretKeyRef).to.equal(undefined);
    expect(DATA_DIR.startsWith(PVC_MOUNT)).to.equal(true);
  });

  it("takes the image, pull secrets, tolerations and resources from the Cluster, the operator's image otherwise, and the extra mariadbd options", () => {
    const spec = {
      imageName: 'registry.example/mariadb-instance:11.4',
      imagePullSecrets: [{ name: 'regcred' }],
      tolerations: [{ key: 'db', operator: 'Exists', effect: 'NoSchedule' }],
      resources: { requests: { cpu: '1', memory: '2Gi' } },
    };
    const c = cluster(spec);
    const pod = instancePod(input({ cluster: c, extraArgs: ['--innodb-buffer-pool-size=16M'] }));
    for (const ct of [...pod.spec!.initContainers!, ...pod.spec!.containers]) expect(ct.image).to.equal(spec.imageName);
    expect(pod.spec!.imagePullSecrets).to.deep.equal([{ name: 'regcred' }]);
    expect(pod.spec!.tolerations).to.deep.equal(spec.tolerations);
    expect(container(pod, 'mariadb').resources).to.deep.equal(spec.resources);
    expect(decodeInstanceEnv(processEnv(pod, 'mariadb')).extraArgs).to.deep.equal(['--innodb-buffer-pool-size=16M']);
    const plain = instancePod(input());
    expect(plain.spec!.containers[0].image).to.equal('ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:10.11');
    expect(plain.spec).to.not.have.any.keys('imagePullSecrets', 'tolerations');
    expect(container(plain, 'mariadb').env!.map((v) => v.name)).to.not.include('SILO_MARIADB_ARGS');
  });

  it('spec.certificates names the PKI Secrets; a recovery-bootstrapped primary never initialises an empty volume', () => {
    const c = cluster({
      certificates: { serverTLSSecret: 'my-tls', serverCASecret: 'my-ca', clientCASecret: 'my-client-ca', clientTLSSecret: 'my-client' },
    });
    expect(defaultInstanceSecrets(c)).to.deep.equal({
      serverTLS: 'my-tls',
      serverCA: 'my-ca',
      clientCA: 'my-client-ca',
      replicationTLS: 'shop-replication-tls',
      systemUsers: 'shop-system-users',
    });
    const pod = instancePod(replicaInput({ cluster: c, secrets: defaultInstanceSecrets(c) }));
    expect(secretsOf(pod)).to.not.include('my-client');
    const recovered = instancePod(input({ bootstrap: 'recovery' }));
    expect(decodeInstanceEnv(processEnv(recovered, 'bootstrap')).bootstrap).to.equal('recovery');
  });
});
