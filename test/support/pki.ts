import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second client certificate from the same CA, CN silo-replication: what a replica clones with. */
  replicationCert: string;
  replicationKey: string;
  /** A client certificate from an unrelated CA: must be refused. */
  rogueClientCert: string;
  rogueClientKey: string;
  rogueCa: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function issue(dir: string, name: string, caName: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${caName}.crt`,
    '-CAkey',
    `${caName}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

function ca(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
}

/**
 * A throwaway PKI for mutual TLS tests: one CA, a server and a client certificate, and a rogue client.
 * `serverAltNames` is the server certificate's subjectAltName, e.g. `DNS:<cluster>-instance-manager`.
 */
export function createPki(dir: string, serverAltNames = 'DNS:localhost,IP:127.0.0.1'): Pki {
  mkdirSync(dir, { recursive: true });
  ca(dir, 'cluster-ca');
  ca(dir, 'rogue-ca');
  issue(dir, 'instance', 'cluster-ca', `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${serverAltNames}\n`);
  issue(dir, 'backup-job', 'cluster-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  issue(dir, 'silo-replication', 'cluster-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  issue(dir, 'intruder', 'rogue-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    ca: read('cluster-ca.crt'),
    serverCert: read('instance.crt'),
    serverKey: read('instance.key'),
    clientCert: read('backup-job.crt'),
    clientKey: read('backup-job.key'),
    replicationCert: read('silo-replication.crt'),
    replicationKey: read('silo-replication.key'),
    rogueClientCert: read('intruder.crt'),
    rogueClientKey: read('intruder.key'),
    rogueCa: read('rogue-ca.crt'),
  };
}
