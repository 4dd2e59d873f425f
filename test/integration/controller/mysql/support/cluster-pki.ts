/**
 * A Cluster's instance-manager PKI as Secrets (decision 0220): one CA signs the
 * server certificate (DNS name `<cluster>-instance-manager`, checked by the
 * worker whatever the pod IP) and the backup Job's client certificate; a rogue
 * CA signs a client certificate the instance manager must refuse.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import { createPki, type Pki } from '../../../../support/pki.js';

export type ClusterPki = Pki;

function makePki(serverName: string): ClusterPki {
  const dir = mkdtempSync(join(tmpdir(), 'silo-cluster-pki-'));
  try {
    return createPki(dir, `DNS:${serverName}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Creates `<cluster>-server-ca`, `-server-tls`, `-client-ca`, `-client-tls` (the default names),
 * `<cluster>-replication-tls` (CN silo-replication, signed by the client CA: what a replica clones
 * with) and `<cluster>-rogue-client-tls`.
 */
export async function createClusterPkiSecrets(core: CoreV1Api, namespace: string, cluster: string): Promise<ClusterPki> {
  const pki = makePki(`${cluster}-instance-manager`);
  const secret = (name: string, data: Record<string, string>, type = 'Opaque') =>
    core.createNamespacedSecret({ namespace, body: { metadata: { name }, type, stringData: data } });
  await secret(`${cluster}-server-ca`, { 'ca.crt': pki.ca });
  await secret(`${cluster}-client-ca`, { 'ca.crt': pki.ca });
  await secret(`${cluster}-server-tls`, { 'tls.crt': pki.serverCert, 'tls.key': pki.serverKey }, 'kubernetes.io/tls');
  await secret(`${cluster}-client-tls`, { 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey }, 'kubernetes.io/tls');
  await secret(`${cluster}-replication-tls`, { 'tls.crt': pki.replicationCert, 'tls.key': pki.replicationKey }, 'kubernetes.io/tls');
  await secret(`${cluster}-rogue-client-tls`, { 'tls.crt': pki.rogueClientCert, 'tls.key': pki.rogueClientKey }, 'kubernetes.io/tls');
  return pki;
}
