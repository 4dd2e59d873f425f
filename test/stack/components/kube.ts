/**
 * The `kube` component: Debian's etcd, kube-apiserver (RBAC on) and
 * kube-controller-manager, all on 127.0.0.1 with non-default ports.
 * Each `up` starts a fresh cluster (new etcd data), so tests never see
 * leftovers of an earlier run; the PKI is kept and reused.
 */
import { mkdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Component, StackContext } from '../component.js';
import {
  adminKubeconfig,
  apiserverUrl,
  kubeBinary,
  kubeDir,
  pidFile,
  pkiDir,
  ports,
  serviceAccountIssuer,
  serviceCidr,
} from '../kube/layout.js';
import { ensurePki, writeKubeconfig } from '../kube/pki.js';
import { installKube } from '../kube/install.js';
import { isAlive, logFile, readPid, startDetached, stopByPidFile, waitUntil } from '../kube/processes.js';
import { httpGetOk, httpsGet } from '../kube/health.js';

const processes = ['kube-controller-manager', 'kube-apiserver', 'etcd'] as const; // stop order

function running(ctx: StackContext, name: string): boolean {
  const pid = readPid(pidFile(ctx, name));
  return pid !== undefined && isAlive(pid);
}

async function apiserverReady(ctx: StackContext): Promise<boolean> {
  const pki = pkiDir(ctx);
  const res = await httpsGet(`${apiserverUrl}/readyz`, {
    ca: join(pki, 'ca.crt'),
    cert: join(pki, 'admin.crt'),
    key: join(pki, 'admin.key'),
  });
  return res.status === 200;
}

async function startEtcd(ctx: StackContext): Promise<void> {
  const dataDir = join(kubeDir(ctx), 'etcd-data');
  rmSync(dataDir, { recursive: true, force: true });
  // A fresh etcd has no PersistentVolumes and no Pods: the process kubelets' volume and Pod directories from
  // earlier runs belong to nothing now, and they held 10+ GB after a day of runs (ceph-mon refuses to start below
  // 5% free; the Pod directories alone reached 4.4 GB and filled the disk in a CI run on 2026-12-06).
  const stale = [join(ctx.root, 'kubelet', 'pvc'), join(ctx.root, 'kubelet', 'pods'), join(ctx.root, 'kubelet-tests')];
  for (const dir of stale) rmSync(dir, { recursive: true, force: true });
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  const pid = startDetached(ctx, {
    name: 'etcd',
    command: 'etcd',
    args: [
      '--name',
      'silo-stack',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `silo-stack=${peer}`,
      '--initial-cluster-state',
      'new',
      '--log-level',
      'warn',
    ],
    pidFile: pidFile(ctx, 'etcd'),
  });
  await waitUntil('etcd', () => httpGetOk(`${client}/health`), { timeoutMs: 30_000, pid, log: logFile(ctx, 'etcd') });
}

async function startApiserver(ctx: StackContext): Promise<void> {
  const pki = ensurePki(pkiDir(ctx), ['127.0.0.1', '10.96.0.1']);
  const pid = startDetached(ctx, {
    name: 'kube-apiserver',
    command: kubeBinary(ctx, 'kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-issuer=${serviceAccountIssuer}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      // No kubelet serves on this machine; nothing needs the endpoints of the
      // `kubernetes` Service, and a loopback endpoint would be rejected anyway.
      '--endpoint-reconciler-type=none',
      // `kubectl logs` reaches the process kubelet at its Node's InternalIP (its Hostname does not resolve).
      '--kubelet-preferred-address-types=InternalIP',
      '--enable-admission-plugins=NodeRestriction',
      '--profiling=false',
      '--v=1',
    ],
    pidFile: pidFile(ctx, 'kube-apiserver'),
  });
  await waitUntil('kube-apiserver /readyz', () => apiserverReady(ctx), { timeoutMs: 90_000, pid, log: logFile(ctx, 'kube-apiserver') });
}

async function startControllerManager(ctx: StackContext): Promise<void> {
  const pki = pkiDir(ctx);
  const kubeconfig = join(kubeDir(ctx), 'controller-manager.kubeconfig');
  writeKubeconfig(kubeconfig, apiserverUrl, join(pki, 'ca.crt'), {
    name: 'system:kube-controller-manager',
    clientCertificate: join(pki, 'controller-manager.crt'),
    clientKey: join(pki, 'controller-manager.key'),
  });
  const pid = startDetached(ctx, {
    name: 'kube-controller-manager',
    command: kubeBinary(ctx, 'kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${join(pki, 'ca.crt')}`,
      `--cluster-signing-cert-file=${join(pki, 'ca.crt')}`,
      `--cluster-signing-key-file=${join(pki, 'ca.key')}`,
      // nodelifecycle would taint and evict the process kubelet's Node whenever a
      // heartbeat is late; node-ipam/cloud/route/service need a cloud or CIDRs. The
      // endpoint controllers can never succeed here: pod IPs are loopback, which
      // Endpoints and EndpointSlices refuse (422), and they retried and wrote a Warning
      // Event for every Service on every Pod change (decision 0103, amended).
      '--controllers=*,-nodelifecycle,-nodeipam,-cloud-node-lifecycle,-route,-service,-endpoint,-endpointslice,-endpointslicemirroring',
      '--leader-elect=false',
      '--v=1',
    ],
    pidFile: pidFile(ctx, 'kube-controller-manager'),
  });
  await waitUntil(
    'kube-controller-manager /healthz',
    async () => (await httpsGet(`https://127.0.0.1:${ports.controllerManager}/healthz`, {})).status === 200,
    { timeoutMs: 60_000, pid, log: logFile(ctx, 'kube-controller-manager') },
  );
  // Pods need the `default` ServiceAccount (ServiceAccount admission); its
  // appearance also proves the controllers are really reconciling.
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig(ctx));
  const core = kc.makeApiClient(CoreV1Api);
  await waitUntil(
    'ServiceAccount default/default from the controller-manager',
    async () => {
      await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' });
      return true;
    },
    { timeoutMs: 60_000, pid, log: logFile(ctx, 'kube-controller-manager') },
  );
}

export const kube: Component = {
  name: 'kube',

  install: installKube,

  async up(ctx) {
    if (await kube.status(ctx)) return;
    await kube.down(ctx); // half-started leftovers
    mkdirSync(kubeDir(ctx), { recursive: true });
    const pki = ensurePki(pkiDir(ctx), ['127.0.0.1', '10.96.0.1']);
    writeKubeconfig(adminKubeconfig(ctx), apiserverUrl, pki.caCert, {
      name: 'silo-stack-admin',
      clientCertificate: pki.client('admin').cert,
      clientKey: pki.client('admin').key,
    });
    ctx.log('kube: starting etcd');
    await startEtcd(ctx);
    ctx.log('kube: starting kube-apiserver');
    await startApiserver(ctx);
    ctx.log('kube: starting kube-controller-manager');
    await startControllerManager(ctx);
    ctx.log(`kube: ready; KUBECONFIG=${adminKubeconfig(ctx)}`);
  },

  async down(ctx) {
    for (const name of processes) await stopByPidFile(pidFile(ctx, name));
  },

  async status(ctx) {
    if (!processes.every((p) => running(ctx, p))) return false;
    if (!existsSync(adminKubeconfig(ctx))) return false;
    return apiserverReady(ctx).catch(() => false);
  },

  env(ctx) {
    return {
      KUBECONFIG: adminKubeconfig(ctx),
      SILO_KUBE_APISERVER: apiserverUrl,
      SILO_KUBECTL: kubeBinary(ctx, 'kubectl'),
      // A second stack's processes must agree on its shifted ports.
      ...(process.env.SILO_KUBE_PORT_OFFSET ? { SILO_KUBE_PORT_OFFSET: process.env.SILO_KUBE_PORT_OFFSET } : {}),
    };
  },
};
