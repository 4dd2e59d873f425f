/**
 * `ensureClusterPki`: one step of the Cluster reconciler that makes the Cluster's PKI Secrets what
 * docs/decisions/0260-cluster-pki.md says. User-supplied Secrets (spec.certificates) are only read, to
 * say clearly when one is missing; for the side(s) the operator issues it creates the missing
 * Secrets, re-issues what is due or unsound, and replaces only Secrets whose content changes. It
 * returns when to look again (the earliest renewal), so the reconciler requeues instead of polling.
 *
 * Nothing here logs, and errors name Secrets and HTTP codes, never their values.
 */
import { ApiException, type V1OwnerReference, type V1Secret } from '@kubernetes/client-node';
import type { ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import type { KubeClient, Secret } from '../../kube/client.js';
import { isNotFound } from '../../kube/custom-objects.js';
import { KINDS, apiVersionOfKind } from '../../kube/kinds.js';
import type { KubeObject } from '../../reconciler.js';
import {
  PKI_REASONS,
  caIsCurrent,
  caIsSound,
  clusterPkiSecretNames,
  clusterPkiSecrets,
  issueCa,
  leafIsCurrent,
  renewLeaf,
  renewalTime,
  stillValid,
  validityOf,
  type ClusterPkiMaterial,
  type ClusterPkiSecretNames,
  type LeafKind,
  type PemPair,
  type PkiReason,
} from './cluster-pki.js';

/** The calls ensureClusterPki makes (a KubeClient, or a fake in tests). */
export type PkiClient = Pick<KubeClient, 'readSecret' | 'createSecret' | 'replaceSecret'>;
export type ClusterObject = ClusterResource & KubeObject;

export type EnsurePkiResult =
  | {
      readonly ok: true;
      /** The Secret names Pods and Jobs mount. */
      readonly names: ClusterPkiSecretNames;
      /** The Secrets created or replaced by this call (names only). */
      readonly written: string[];
      /** When something the operator issued is next due (renewal, or a previous CA leaving the trust bundles); undefined when it issues nothing. */
      readonly nextRenewal?: Date;
    }
  | { readonly ok: false; readonly reason: PkiReason; readonly message: string };

type Failure = Extract<EnsurePkiResult, { ok: false }>;

const TLS_KEYS = ['tls.crt', 'tls.key'];
const CA_KEYS = ['ca.crt'];

/** The controller owner reference every operator-issued PKI Secret carries, so it goes with the Cluster. */
export function clusterOwnerReference(cluster: ClusterObject): V1OwnerReference {
  return {
    apiVersion: apiVersionOfKind(KINDS.Cluster),
    kind: KINDS.Cluster.kind,
    name: cluster.metadata!.name!,
    uid: cluster.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

const httpError = (verb: string, namespace: string, name: string, error: unknown): Error =>
  new Error(`${verb} Secret ${namespace}/${name}: ${error instanceof ApiException ? `HTTP ${error.code}` : (error as Error).name}`);

async function readOptional(client: PkiClient, namespace: string, name: string): Promise<Secret | undefined> {
  try {
    return await client.readSecret(namespace, name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw httpError('reading', namespace, name, error);
  }
}

const text = (secret: Secret | undefined, key: string): string | undefined => {
  const value = secret?.data?.[key];
  return value ? Buffer.from(value, 'base64').toString('utf8') : undefined;
};

function pairOf(secret: Secret | undefined, certKey: string, keyKey: string): PemPair | undefined {
  const cert = text(secret, certKey);
  const key = text(secret, keyKey);
  return cert && key ? { cert, key } : undefined;
}

/** User-supplied Secrets: they must exist with their keys; their values are not read further. */
async function checkUserSecrets(client: PkiClient, cluster: ClusterObject, names: ClusterPkiSecretNames): Promise<Failure | undefined> {
  const { name, namespace } = cluster.metadata as { name: string; namespace: string };
  const wanted: Array<[field: string, secret: string, keys: string[]]> = [];
  if (!names.operatorIssues.server)
    wanted.push(['serverCASecret', names.serverCA, CA_KEYS], ['serverTLSSecret', names.serverTLS, TLS_KEYS]);
  if (!names.operatorIssues.client)
    wanted.push(['clientCASecret', names.clientCA, CA_KEYS], ['clientTLSSecret', names.clientTLS, TLS_KEYS]);
  for (const [field, secretName, keys] of wanted) {
    const secret = await readOptional(client, namespace, secretName);
    const missing = keys.filter((k) => !secret?.data?.[k]);
    if (!secret || missing.length) {
      const problem = secret ? `has no ${missing.join(' and no ')}` : 'does not exist';
      return {
        ok: false,
        reason: PKI_REASONS.CertificateSecretMissing,
        message: `Cluster ${name}: spec.certificates.${field} names Secret ${secretName}, which ${problem}; create it with ${keys.join(' and ')}.`,
      };
    }
  }
  if (names.operatorIssues.client || (cluster.spec.instances ?? 1) < 2) return undefined;
  const replication = await readOptional(client, namespace, names.replicationTLS);
  if (replication && TLS_KEYS.every((k) => replication.data?.[k])) return undefined;
  return {
    ok: false,
    reason: PKI_REASONS.ReplicationCertificateMissing,
    message:
      `Cluster ${name}: spec.certificates.clientCASecret names your own client CA (${names.clientCA}), which the operator cannot sign with, ` +
      `so replicas need a client certificate from you: create the kubernetes.io/tls Secret ${names.replicationTLS} ` +
      `(CN silo-replication, extended key usage clientAuth) signed by that CA, or remove clientCASecret and clientTLSSecret ` +
      `to let the operator issue every client certificate.`,
  };
}

/** The names of the Secrets the operator issues for this Cluster. */
function operatorSecretNames(names: ClusterPkiSecretNames): string[] {
  return [
    names.ca,
    ...(names.operatorIssues.server ? [names.serverCA, names.serverTLS] : []),
    ...(names.operatorIssues.client ? [names.clientCA, names.clientTLS, names.replicationTLS] : []),
  ];
}

const ownedBy = (secret: Secret, uid: string | undefined): boolean =>
  !!secret.metadata?.ownerReferences?.some((o) => o.controller && o.uid === uid);

interface Context {
  readonly cluster: string;
  readonly namespace: string;
  readonly now: Date;
}

/**
 * What the operator's Secrets should hold now: the stored CA unless it is missing, unsound or due
 * (then a new one, the old one kept as previous while it is still valid), and each stored leaf
 * unless it is not current for that CA (then a new one).
 */
async function desiredMaterial(
  existing: Map<string, Secret | undefined>,
  names: ClusterPkiSecretNames,
  ctx: Context,
): Promise<ClusterPkiMaterial> {
  const { cluster, namespace, now } = ctx;
  const caSecret = existing.get(names.ca);
  const stored = pairOf(caSecret, 'ca.crt', 'ca.key');
  let ca = stored;
  let previous = text(caSecret, 'previous-ca.crt');
  if (!stored || !caIsCurrent(stored, now)) {
    ca = await issueCa({ cluster, now });
    // A CA that is only due stays trusted until it expires, so what it signed keeps working while the new certificates spread.
    previous = stored && caIsSound(stored, now) ? stored.cert : undefined;
  }
  if (previous && !stillValid(previous, now)) previous = undefined;
  const current = ca!;
  const leaf = async (kind: LeafKind, secretName: string): Promise<PemPair> => {
    const pair = pairOf(existing.get(secretName), 'tls.crt', 'tls.key');
    return pair && leafIsCurrent(pair, current.cert, { kind, cluster, namespace, now })
      ? pair
      : renewLeaf({ ca: current, kind, cluster, namespace, now });
  };
  const { server, client } = names.operatorIssues;
  return {
    ca: current,
    previousCaCert: previous,
    server: server ? await leaf('server', names.serverTLS) : undefined,
    backupClient: client ? await leaf('backup-client', names.clientTLS) : undefined,
    replicationClient: client ? await leaf('replication-client', names.replicationTLS) : undefined,
  };
}

/** The earliest time something in `material` is due: a renewal, or the previous CA's expiry. */
function nextRenewalOf(material: ClusterPkiMaterial): Date | undefined {
  const times = [material.ca, material.server, material.backupClient, material.replicationClient]
    .map((pair) => (pair ? renewalTime(pair.cert)?.getTime() : undefined))
    .concat(material.previousCaCert ? [validityOf(material.previousCaCert)?.notAfter.getTime()] : []);
  const known = times.filter((t): t is number => t !== undefined);
  return known.length ? new Date(Math.min(...known)) : undefined;
}

const sameContent = (existing: Secret, body: V1Secret): boolean => {
  const want = body.data ?? {};
  const have = existing.data ?? {};
  return (
    existing.type === body.type &&
    Object.keys(want).length === Object.keys(have).length &&
    Object.entries(want).every(([k, v]) => have[k] === v)
  );
};

/** Creates or replaces `body` when its content differs; true when it wrote. */
async function write(client: PkiClient, namespace: string, body: V1Secret, existing: Secret | undefined): Promise<boolean> {
  const name = body.metadata!.name!;
  if (existing && sameContent(existing, body)) return false;
  try {
    if (!existing) await client.createSecret(namespace, body);
    else
      await client.replaceSecret(namespace, {
        ...body,
        metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion },
      });
  } catch (error) {
    throw httpError(existing ? 'replacing' : 'creating', namespace, name, error);
  }
  return true;
}

/**
 * Makes the Cluster's PKI Secrets current (decision 0260). Trust (the CA Secrets) is written before
 * the certificates it vouches for, so a crash in between leaves nothing that a reader cannot verify.
 */
export async function ensureClusterPki(client: PkiClient, cluster: ClusterObject, options: { now?: Date } = {}): Promise<EnsurePkiResult> {
  const now = options.now ?? new Date();
  const { name, namespace, uid } = cluster.metadata as { name: string; namespace: string; uid?: string };
  const named = clusterPkiSecretNames(name, cluster.spec.certificates);
  if (!named.ok) return named;
  const { names } = named;
  const userProblem = await checkUserSecrets(client, cluster, names);
  if (userProblem) return userProblem;
  if (!names.operatorIssues.server && !names.operatorIssues.client) return { ok: true, names, written: [] };

  const secretNames = operatorSecretNames(names);
  const found = await Promise.all(secretNames.map((n) => readOptional(client, namespace, n)));
  const existing = new Map(secretNames.map((n, i) => [n, found[i]]));
  const foreign = secretNames.find((n) => existing.get(n) && !ownedBy(existing.get(n)!, uid));
  if (foreign) {
    return {
      ok: false,
      reason: PKI_REASONS.CertificateSecretConflict,
      message: `Cluster ${name}: Secret ${foreign} exists and is not owned by this Cluster, so the operator will not overwrite it; delete or rename it, or name your own Secrets in spec.certificates.`,
    };
  }
  const material = await desiredMaterial(existing, names, { cluster: name, namespace, now });
  const bodies = clusterPkiSecrets(name, namespace, material, clusterOwnerReference(cluster));
  const trustFirst = [...bodies.filter((b) => b.type !== 'kubernetes.io/tls'), ...bodies.filter((b) => b.type === 'kubernetes.io/tls')];
  const written: string[] = [];
  for (const body of trustFirst) {
    if (await write(client, namespace, body, existing.get(body.metadata!.name!))) written.push(body.metadata!.name!);
  }
  return { ok: true, names, written, nextRenewal: nextRenewalOf(material) };
}
