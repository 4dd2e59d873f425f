/**
 * The operator-managed PKI of a MySQL/MariaDB Cluster (docs/decisions/0260-cluster-pki.md): one CA
 * per Cluster, the instance managers' server certificate, the client certificate backup and restore
 * Jobs present (`silo-backup`) and the one replicas present to the primary's instance manager when
 * they clone (`silo-replication`). Pure functions: issuing, judging and rendering, no Kubernetes
 * calls; cluster-pki-reconcile.ts reads and writes the Secrets. Nothing here logs, and no error
 * message carries key material.
 *
 * Keys are ECDSA P-256 made by WebCrypto (node:crypto's), certificates are built by @peculiar/x509
 * (Node 20 can parse and verify certificates but not issue them). Keys are PKCS#8 PEM, certificates PEM.
 */
// @peculiar/x509 refuses to load without a Reflect metadata polyfill; imports run in order, so this comes first.
import 'reflect-metadata';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { CertificatesConfiguration } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { LABELS } from '../../../contracts/instance-pod.js';
import { MANAGED_BY } from '../../kube/names.js';
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const DAY_MS = 86_400_000;
/** The CA's lifetime. Long enough that its rotation is rare, short enough that a leaked CA key expires. */
export const CA_VALIDITY_DAYS = 365;
/** Server and client certificates' default lifetime (leaves never outlive their CA). */
export const LEAF_VALIDITY_DAYS = 90;
/** notBefore is set this far in the past, so a node whose clock is a little behind accepts a new certificate. */
const BACKDATE_MS = 5 * 60_000;
/** A certificate is renewed at least this long before it expires (but never in the first half of its life). */
const RENEWAL_FLOOR_MS = 30 * DAY_MS;

/** The client certificates' common names: the backup and restore Jobs', and the replicas'. */
export const BACKUP_CLIENT_CN = 'silo-backup';
export const REPLICATION_CLIENT_CN = 'silo-replication';

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** What the operator's Secrets hold: the CA, and the leaves of whichever side (server, client) it issues. */
export interface ClusterPkiMaterial {
  readonly ca: PemPair;
  /** The CA this one replaced, still trusted (in server-ca and client-ca) until it expires. */
  readonly previousCaCert?: string;
  readonly server?: PemPair;
  readonly backupClient?: PemPair;
  readonly replicationClient?: PemPair;
}

/** Everything, as issueClusterPki makes it. */
export interface ClusterPki extends ClusterPkiMaterial {
  readonly server: PemPair;
  readonly backupClient: PemPair;
  readonly replicationClient: PemPair;
}

export type LeafKind = 'server' | 'backup-client' | 'replication-client';

// ---------------------------------------------------------------------------------------------
// Issuing

/** The DNS names the server certificate carries: every address a client dials (decision 0220 for the first). */
export function serverDnsNames(cluster: string, namespace: string): string[] {
  const services = [`${cluster}-instance-manager`, `${cluster}-rw`, `${cluster}-ro`, `${cluster}-r`];
  return services.flatMap((s) => [s, `${s}.${namespace}`, `${s}.${namespace}.svc`, `${s}.${namespace}.svc.cluster.local`]);
}

/** A positive 128-bit serial number, as hex. */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

const newKeys = (): Promise<CryptoKeyPair> =>
  webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']) as unknown as Promise<CryptoKeyPair>;

async function keyPem(key: CryptoKey): Promise<string> {
  return `${x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key as never), 'PRIVATE KEY')}\n`;
}

const importSigningKey = (pem: string): Promise<CryptoKey> =>
  webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), KEY_ALGORITHM, false, ['sign']) as unknown as Promise<CryptoKey>;

/** A new self-signed CA, CN `<cluster>-ca`. */
export async function issueCa(options: { cluster: string; now: Date; validityDays?: number }): Promise<PemPair> {
  const keys = await newKeys();
  const name = `CN=${options.cluster}-ca`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: name,
    issuer: name,
    notBefore: new Date(options.now.getTime() - BACKDATE_MS),
    notAfter: new Date(options.now.getTime() + (options.validityDays ?? CA_VALIDITY_DAYS) * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: await keyPem(keys.privateKey) };
}

export interface LeafRequest {
  /** The CA that signs: its certificate and private key. */
  readonly ca: PemPair;
  readonly kind: LeafKind;
  readonly cluster: string;
  readonly namespace: string;
  readonly now: Date;
  /** @default LEAF_VALIDITY_DAYS (cut to the CA's own notAfter) */
  readonly validityDays?: number;
}

/** The subject and the extensions that say what a leaf is for. */
function leafIdentity(kind: LeafKind, cluster: string, namespace: string): { cn: string; usage: x509.ExtendedKeyUsage; dns?: string[] } {
  if (kind === 'server')
    return { cn: `${cluster}-instance-manager`, usage: x509.ExtendedKeyUsage.serverAuth, dns: serverDnsNames(cluster, namespace) };
  return { cn: kind === 'backup-client' ? BACKUP_CLIENT_CN : REPLICATION_CLIENT_CN, usage: x509.ExtendedKeyUsage.clientAuth };
}

/**
 * A new key and certificate of `kind`, signed by `ca`. Renewal is the same call with the CA that is
 * current: a renewed leaf has a new key too.
 */
export async function renewLeaf(request: LeafRequest): Promise<PemPair> {
  const { ca, kind, now } = request;
  const caCert = new x509.X509Certificate(ca.cert);
  const identity = leafIdentity(kind, request.cluster, request.namespace);
  const keys = await newKeys();
  const notAfter = Math.min(now.getTime() + (request.validityDays ?? LEAF_VALIDITY_DAYS) * DAY_MS, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${identity.cn}`,
    issuer: caCert.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.key),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([identity.usage]),
      ...(identity.dns ? [new x509.SubjectAlternativeNameExtension(identity.dns.map((value) => ({ type: 'dns' as const, value })))] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: await keyPem(keys.privateKey) };
}

export interface IssueOptions {
  readonly cluster: string;
  readonly namespace: string;
  readonly now: Date;
  /** The leaves' lifetime. @default LEAF_VALIDITY_DAYS */
  readonly validityDays?: number;
  /** @default CA_VALIDITY_DAYS */
  readonly caValidityDays?: number;
}

/** A new CA and every leaf it signs: the whole PKI of a Cluster whose spec.certificates is empty. */
export async function issueClusterPki(options: IssueOptions): Promise<ClusterPki> {
  const { cluster, namespace, now, validityDays } = options;
  const ca = await issueCa({ cluster, now, validityDays: options.caValidityDays });
  const leaf = (kind: LeafKind) => renewLeaf({ ca, kind, cluster, namespace, now, validityDays });
  const [server, backupClient, replicationClient] = await Promise.all([leaf('server'), leaf('backup-client'), leaf('replication-client')]);
  return { ca, server, backupClient, replicationClient };
}

// ---------------------------------------------------------------------------------------------
// Judging what exists

/** notBefore and notAfter of a PEM certificate, or undefined when it does not parse. */
export function validityOf(certPem: string): { notBefore: Date; notAfter: Date } | undefined {
  try {
    const cert = new x509.X509Certificate(certPem);
    return { notBefore: cert.notBefore, notAfter: cert.notAfter };
  } catch {
    return undefined;
  }
}

/**
 * When a certificate is due for renewal: once less than a third of its lifetime is left, or less
 * than 30 days, whichever comes first, but never in the first half of its life (a short-lived
 * certificate would otherwise be due as soon as it is issued). 90 days: day 60; a 1-year CA: about
 * 122 days before it expires. Undefined when the PEM does not parse.
 */
export function renewalTime(certPem: string): Date | undefined {
  const validity = validityOf(certPem);
  if (!validity) return undefined;
  const end = validity.notAfter.getTime();
  const lifetime = end - validity.notBefore.getTime();
  return new Date(end - Math.min(Math.max(lifetime / 3, RENEWAL_FLOOR_MS), lifetime / 2));
}

/** True when `certPem` is due for renewal at `now` (or does not parse). */
export function needsRenewal(certPem: string, now: Date): boolean {
  const at = renewalTime(certPem);
  return at === undefined || now.getTime() >= at.getTime();
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Whether `certPem` (a CA certificate) has not expired at `now`. */
export const stillValid = (certPem: string, now: Date): boolean => (validityOf(certPem)?.notAfter.getTime() ?? 0) > now.getTime();

/**
 * A sound CA: parses, is a CA with an ECDSA P-256 key (the only kind the operator signs with),
 * signed itself, holds the key that goes with it, and has not expired.
 */
export function caIsSound(ca: PemPair, now: Date): boolean {
  const cert = parse(ca.cert);
  try {
    return (
      !!cert &&
      cert.ca &&
      cert.publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1' &&
      cert.checkIssued(cert) &&
      cert.verify(cert.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(ca.key)) &&
      stillValid(ca.cert, now)
    );
  } catch {
    // A key that does not parse.
    return false;
  }
}

/** A CA the operator keeps signing with: sound and not yet due for renewal. */
export const caIsCurrent = (ca: PemPair, now: Date): boolean => caIsSound(ca, now) && !needsRenewal(ca.cert, now);

/**
 * A leaf the operator may keep: parses, holds its key, was signed by `caCert`, names what a leaf of
 * `kind` names today, and is not due for renewal. Anything else is re-issued.
 */
export function leafIsCurrent(leaf: PemPair, caCert: string, request: Omit<LeafRequest, 'ca' | 'validityDays'>): boolean {
  const cert = parse(leaf.cert);
  const ca = parse(caCert);
  if (!cert || !ca) return false;
  const identity = leafIdentity(request.kind, request.cluster, request.namespace);
  const dns = identity.dns?.map((name) => `DNS:${name}`).join(', ');
  try {
    return (
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(leaf.key)) &&
      cert.subject.trim() === `CN=${identity.cn}` &&
      cert.subjectAltName === dns &&
      !needsRenewal(leaf.cert, request.now)
    );
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Secret names: spec.certificates, or the operator's

/** The PKI reasons a Cluster reports; the Cluster's reasons table spreads them in (decision 0251). */
export const PKI_REASON_TABLE = {
  CertificatesIncomplete: {
    sentence: 'spec.certificates names one Secret of a pair without the other',
    fix: 'set both serverCASecret and serverTLSSecret (and both clientCASecret and clientTLSSecret), or neither',
  },
  CertificateSecretMissing: {
    sentence: 'a Secret named in spec.certificates does not exist or lacks a key',
    fix: 'create it: ca.crt for a CA Secret, tls.crt and tls.key for a kubernetes.io/tls Secret',
  },
  ReplicationCertificateMissing: {
    sentence: 'the client CA is yours, so the operator cannot issue the certificate replicas present when they clone',
    fix: 'create the kubernetes.io/tls Secret <cluster>-replication-tls (CN silo-replication, clientAuth) signed by your client CA',
  },
  CertificateSecretConflict: {
    sentence: 'a Secret with one of the operator-managed PKI names exists and is not owned by this Cluster',
    fix: 'delete or rename that Secret, or name your own Secrets in spec.certificates',
  },
} as const satisfies ReasonTable;

export const PKI_REASONS = reasonsOf(PKI_REASON_TABLE);
export type PkiReason = keyof typeof PKI_REASON_TABLE;

export interface ClusterPkiSecretNames {
  /** The operator's CA (ca.crt, ca.key): never mounted anywhere. */
  readonly ca: string;
  readonly serverCA: string;
  readonly serverTLS: string;
  readonly clientCA: string;
  /** The backup and restore Jobs' client certificate; never mounted in a database Pod. */
  readonly clientTLS: string;
  /** The replicas' client certificate: mounted in database Pods (MOUNTS.replicationTls). */
  readonly replicationTLS: string;
  /**
   * Which side the operator creates and renews: `server` (serverCA, serverTLS), `client` (clientCA,
   * clientTLS, replicationTLS). The other side's Secrets are the user's, used as given.
   */
  readonly operatorIssues: { readonly server: boolean; readonly client: boolean };
}

export type PkiNamesResult =
  | { readonly ok: true; readonly names: ClusterPkiSecretNames }
  | { readonly ok: false; readonly reason: PkiReason; readonly message: string };

/** The names decision 0220 gives the operator's Secrets, plus `<c>-replication-tls` and `<c>-ca`. */
export function defaultPkiSecretNames(cluster: string): Omit<ClusterPkiSecretNames, 'operatorIssues'> {
  return {
    ca: `${cluster}-ca`,
    serverCA: `${cluster}-server-ca`,
    serverTLS: `${cluster}-server-tls`,
    clientCA: `${cluster}-client-ca`,
    clientTLS: `${cluster}-client-tls`,
    replicationTLS: `${cluster}-replication-tls`,
  };
}

/**
 * The Secret names a Cluster uses. Each side is a pair (the CA and the certificate it signs): set
 * both, and they are the user's, never created or renewed by the operator; set neither, and the
 * operator issues that side under the default names. One of a pair alone cannot work (the operator
 * cannot sign with a CA whose key it lacks, nor vouch for a certificate with its own CA), so it is
 * refused by name. A user client CA means the user also provides `<cluster>-replication-tls`
 * (the schema has no field for it; cluster-pki-reconcile.ts checks it exists when replicas need it).
 */
export function clusterPkiSecretNames(cluster: string, certificates: CertificatesConfiguration | undefined): PkiNamesResult {
  const c = certificates ?? {};
  const defaults = defaultPkiSecretNames(cluster);
  for (const [ca, tls] of [
    ['serverCASecret', 'serverTLSSecret'],
    ['clientCASecret', 'clientTLSSecret'],
  ] as const) {
    if (!c[ca] !== !c[tls]) {
      const [set, unset] = c[ca] ? [ca, tls] : [tls, ca];
      return {
        ok: false,
        reason: PKI_REASONS.CertificatesIncomplete,
        message: `Cluster ${cluster}: spec.certificates.${set} is set but ${unset} is not; set ${unset} too, or remove ${set} to let the operator issue both.`,
      };
    }
  }
  return {
    ok: true,
    names: {
      ...defaults,
      serverCA: c.serverCASecret ?? defaults.serverCA,
      serverTLS: c.serverTLSSecret ?? defaults.serverTLS,
      clientCA: c.clientCASecret ?? defaults.clientCA,
      clientTLS: c.clientTLSSecret ?? defaults.clientTLS,
      operatorIssues: { server: !c.serverTLSSecret, client: !c.clientTLSSecret },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Secret bodies

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The CA certificates a side trusts: the current CA, then the one it replaced while that is still valid. */
export const trustBundle = (pki: Pick<ClusterPkiMaterial, 'ca' | 'previousCaCert'>): string =>
  pki.previousCaCert ? `${pki.ca.cert.trimEnd()}\n${pki.previousCaCert.trimEnd()}\n` : pki.ca.cert;

/**
 * The operator's PKI Secrets, under the default names, owned by the Cluster (`ownerReference`,
 * controller: true) so they go with it: `<c>-ca` (ca.crt, ca.key and, during a CA rotation,
 * previous-ca.crt; never mounted anywhere), then for the server side `<c>-server-ca` (ca.crt) and
 * `<c>-server-tls`, for the client side `<c>-client-ca` (ca.crt), `<c>-client-tls` (backup and
 * restore Jobs) and `<c>-replication-tls` (database Pods). One CA signs both sides, so server-ca and
 * client-ca hold the same ca.crt.
 */
export function clusterPkiSecrets(
  cluster: string,
  namespace: string,
  pki: ClusterPkiMaterial,
  ownerReference: V1OwnerReference,
): V1Secret[] {
  const names = defaultPkiSecretNames(cluster);
  const secret = (name: string, type: string, data: Record<string, string>): V1Secret => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { ...MANAGED_BY, [LABELS.cluster]: cluster }, ownerReferences: [ownerReference] },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
  const tls = (name: string, pair: PemPair) => secret(name, 'kubernetes.io/tls', { 'tls.crt': pair.cert, 'tls.key': pair.key });
  const trust = trustBundle(pki);
  return [
    secret(names.ca, 'Opaque', {
      'ca.crt': pki.ca.cert,
      'ca.key': pki.ca.key,
      ...(pki.previousCaCert ? { 'previous-ca.crt': pki.previousCaCert } : {}),
    }),
    ...(pki.server ? [secret(names.serverCA, 'Opaque', { 'ca.crt': trust }), tls(names.serverTLS, pki.server)] : []),
    ...(pki.backupClient ? [secret(names.clientCA, 'Opaque', { 'ca.crt': trust }), tls(names.clientTLS, pki.backupClient)] : []),
    ...(pki.replicationClient ? [tls(names.replicationTLS, pki.replicationClient)] : []),
  ];
}
