/**
 * Self-signed PKI and kubeconfigs for the local API server, made with the
 * openssl CLI (Debian ships it; Node has no X.509 issuing API).
 * Everything lives under <root>/kube/pki and is made once per data root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  /** Client certificate pairs by name (admin, controller-manager). */
  client(name: string): { cert: string; key: string };
}

/** Client identities: CN is the user, O the group. */
export const clientIdentities: Record<string, { cn: string; o?: string }> = {
  admin: { cn: 'silo-stack-admin', o: 'system:masters' },
  'controller-manager': { cn: 'system:kube-controller-manager' },
};

export function ensurePki(dir: string, serverIps: string[]): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const pki: Pki = {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    client: (name) => ({ cert: p(`${name}.crt`), key: p(`${name}.key`) }),
  };
  if (!existsSync(pki.caCert)) {
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '3650',
        '-subj',
        '/CN=silo-stack-ca',
      ],
      dir,
    );
  }
  if (!existsSync(pki.saKey)) {
    openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
    openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  }
  if (!existsSync(pki.serverCert)) {
    const sans = [
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
      ...serverIps.map((ip) => `IP:${ip}`),
    ];
    issue(dir, 'apiserver', '/CN=kube-apiserver', [
      `subjectAltName=${sans.join(',')}`,
      'extendedKeyUsage=serverAuth',
      'keyUsage=digitalSignature,keyEncipherment',
    ]);
  }
  for (const [name, id] of Object.entries(clientIdentities)) {
    if (existsSync(pki.client(name).cert)) continue;
    issue(dir, name, `/CN=${id.cn}${id.o ? `/O=${id.o}` : ''}`, [
      'extendedKeyUsage=clientAuth',
      'keyUsage=digitalSignature,keyEncipherment',
    ]);
  }
  return pki;
}

function issue(dir: string, name: string, subject: string, extensions: string[]): void {
  writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

export interface KubeconfigUser {
  name: string;
  clientCertificate?: string;
  clientKey?: string;
  token?: string;
}

/** Writes a kubeconfig with one cluster, one user and one current context. */
export function writeKubeconfig(path: string, server: string, caCert: string, user: KubeconfigUser, namespace?: string): void {
  const userEntry: Record<string, string> = {};
  if (user.clientCertificate) userEntry['client-certificate'] = user.clientCertificate;
  if (user.clientKey) userEntry['client-key'] = user.clientKey;
  if (user.token) userEntry.token = user.token;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'silo-stack', cluster: { server, 'certificate-authority': caCert } }],
    users: [{ name: user.name, user: userEntry }],
    contexts: [{ name: 'silo-stack', context: { cluster: 'silo-stack', user: user.name, ...(namespace ? { namespace } : {}) } }],
    'current-context': 'silo-stack',
  };
  // Written beside and renamed over: test files in parallel write the same ServiceAccount's kubeconfig (each operator
  // they start), and one read it truncated mid-write ("Cannot read properties of undefined (reading 'clusters')").
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, stringify(doc), { mode: 0o600 });
  renameSync(temporary, path);
}
