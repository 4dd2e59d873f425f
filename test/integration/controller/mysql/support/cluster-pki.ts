/**
 * A Cluster's instance-manager PKI as Secrets (decision 0220): one CA signs the
 * server certificate (DNS name `<cluster>-instance-manager`, checked by the
 * worker whatever the pod IP) and the backup Job's client certificate; a rogue
 * CA signs a client certificate the instance manager must refuse.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';

export interface ClusterPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueClientCert: string;
  rogueClientKey: string;
}

function makePki(serverName: string): ClusterPki {
  const dir = mkdtempSync(join(tmpdir(), 'silo-cluster-pki-'));
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ca = (name: string) => openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`,
    '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  const issue = (name: string, caName: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  try {
    ca('cluster-ca');
    ca('rogue-ca');
    issue('server', 'cluster-ca', `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${serverName}\n`);
    issue('client', 'cluster-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    issue('rogue', 'rogue-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return {
      ca: read('cluster-ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'), clientCert: read('client.crt'), clientKey: read('client.key'),
      rogueClientCert: read('rogue.crt'), rogueClientKey: read('rogue.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Creates `<cluster>-server-ca`, `-server-tls`, `-client-ca`, `-client-tls` (the default names) and `<cluster>-rogue-client-tls`. */
export async function createClusterPkiSecrets(core: CoreV1Api, namespace: string, cluster: string): Promise<ClusterPki> {
  const pki = makePki(`${cluster}-instance-manager`);
  const secret = (name: string, data: Record<string, string>, type = 'Opaque') => core.createNamespacedSecret({ namespace, body: { metadata: { name }, type, stringData: data } });
  await secret(`${cluster}-server-ca`, { 'ca.crt': pki.ca });
  await secret(`${cluster}-client-ca`, { 'ca.crt': pki.ca });
  await secret(`${cluster}-server-tls`, { 'tls.crt': pki.serverCert, 'tls.key': pki.serverKey }, 'kubernetes.io/tls');
  await secret(`${cluster}-client-tls`, { 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey }, 'kubernetes.io/tls');
  await secret(`${cluster}-rogue-client-tls`, { 'tls.crt': pki.rogueClientCert, 'tls.key': pki.rogueClientKey }, 'kubernetes.io/tls');
  return pki;
}
