/**
 * The operator-managed PKI of a MySQL/MariaDB Cluster (docs/decisions/0260-cluster-pki.md): one CA
 * per Cluster, the instance managers' server certificate, the client certificate backup and restore
 * Jobs present (`silo-backup`) and the one replicas present to the primary's instance manager when
 * they clone (`silo-replication`). Pure functions: issuing, judging and rendering, no Kubernetes
 * calls; cluster-pki-reconcile.ts reads and writes the Secrets. The X.509 work itself is shared with
 * the PostgreSQL clusters' PKI (runtime/controller/pki/x509.ts).
 */
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { CertificatesConfiguration } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { LABELS } from '../../../contracts/instance-pod.js';
import { MANAGED_BY } from '../../kube/names.js';
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';
import { CLIENT_AUTH, SERVER_AUTH, issueCa, issueLeaf, leafMatches, type LeafIdentity, type PemPair } from '../../pki/x509.js';

export {
  CA_VALIDITY_DAYS,
  LEAF_VALIDITY_DAYS,
  caIsCurrent,
  caIsSound,
  issueCa,
  needsRenewal,
  renewalTime,
  stillValid,
  validityOf,
  type PemPair,
} from '../../pki/x509.js';

/** The client certificates' common names: the backup and restore Jobs', and the replicas'. */
export const BACKUP_CLIENT_CN = 'silo-backup';
export const REPLICATION_CLIENT_CN = 'silo-replication';

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
function leafIdentity(kind: LeafKind, cluster: string, namespace: string): LeafIdentity {
  if (kind === 'server') return { cn: `${cluster}-instance-manager`, usages: [SERVER_AUTH], dns: serverDnsNames(cluster, namespace) };
  return { cn: kind === 'backup-client' ? BACKUP_CLIENT_CN : REPLICATION_CLIENT_CN, usages: [CLIENT_AUTH] };
}

/**
 * A new key and certificate of `kind`, signed by `ca`. Renewal is the same call with the CA that is
 * current: a renewed leaf has a new key too.
 */
export function renewLeaf(request: LeafRequest): Promise<PemPair> {
  return issueLeaf(request.ca, leafIdentity(request.kind, request.cluster, request.namespace), request.now, request.validityDays);
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

/**
 * A leaf the operator may keep: parses, holds its key, was signed by `caCert`, names what a leaf of
 * `kind` names today, and is not due for renewal. Anything else is re-issued.
 */
export function leafIsCurrent(leaf: PemPair, caCert: string, request: Omit<LeafRequest, 'ca' | 'validityDays'>): boolean {
  return leafMatches(leaf, caCert, leafIdentity(request.kind, request.cluster, request.namespace), request.now);
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
