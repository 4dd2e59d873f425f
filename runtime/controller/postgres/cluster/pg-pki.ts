/**
 * The PKI of a PGCluster's pgBackRest TLS (decision 0270), on the same X.509 code as the mysql
 * Clusters' (runtime/controller/pki/x509.ts): one CA per cluster (`<c>-pgbackrest-ca`, never mounted),
 * and three leaves, each a kubernetes.io/tls Secret with the CA beside it (ca.crt):
 * - instance (CN silo-pg-instance, DNS `<c>-1.<c>-instances.<ns>.svc`): its `pgbackrest server`, and
 *   its archive-push to the repo host;
 * - repo host (CN silo-pg-repo-host, DNS `<c>-repo-host.<c>-repo.<ns>.svc`): its `pgbackrest server`
 *   and agent, and its backups' connection to the instance;
 * - backup (CN silo-pg-backup, client only): the backup Jobs and the operator, calling the agent.
 * Each side's `tls-server-auth` admits only the other side's CN. A leaf that is missing, names
 * something else or is due for renewal is issued again; a CA that is not sound, too (and every leaf with it).
 * Pods load the files when they start: each carries the PKI's fingerprint, and one started with another is
 * replaced (decision 0284).
 */
import { createHash } from 'node:crypto';
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { PG_CN, pgInstanceName, pgNames, podDnsName } from '../../../contracts/pg-pods.js';
import type { KubeClient, Secret } from '../../kube/client.js';
import { isNotFound } from '../../kube/custom-objects.js';
import { MANAGED_BY } from '../../kube/names.js';
import { CLIENT_AUTH, SERVER_AUTH, caIsCurrent, issueCa, issueLeaf, leafMatches, type LeafIdentity, type PemPair } from '../../pki/x509.js';
import { PG_LABELS } from '../shared/pg-objects.js';
import { pgServiceNames } from './pg-services.js';

const withClusterDomain = (name: string): string[] => [name, `${name}.cluster.local`];

/** The leaves of a cluster, by Secret name. */
export function pgLeafIdentities(cluster: string, namespace: string): Record<string, LeafIdentity> {
  const n = pgNames(cluster);
  return {
    [n.instanceTlsSecret]: {
      cn: PG_CN.instance,
      usages: [SERVER_AUTH, CLIENT_AUTH],
      // Every instance a PGCluster may have and its client Services, so TLS clients can check any of them by name
      // (verify-full) and scaling never re-issues the certificate (decision 0275).
      dns: [
        ...withClusterDomain(podDnsName(n.primary, n.instancesService, namespace)),
        ...[2, 3, 4, 5, 6, 7, 8, 9].flatMap((i) =>
          withClusterDomain(podDnsName(pgInstanceName(cluster, i), n.instancesService, namespace)),
        ),
        ...Object.values(pgServiceNames(cluster)).flatMap((s) => withClusterDomain(`${s}.${namespace}.svc`)),
      ],
    },
    [n.repoHostTlsSecret]: {
      cn: PG_CN.repoHost,
      usages: [SERVER_AUTH, CLIENT_AUTH],
      dns: withClusterDomain(podDnsName(n.repoHost, n.repoService, namespace)),
    },
    [n.backupTlsSecret]: { cn: PG_CN.backup, usages: [CLIENT_AUTH] },
  };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const text = (secret: Secret | undefined, key: string): string | undefined => {
  const value = (secret?.data as Record<string, string> | undefined)?.[key];
  return value ? Buffer.from(value, 'base64').toString('utf8') : undefined;
};

async function readOptional(client: KubeClient, namespace: string, name: string): Promise<Secret | undefined> {
  try {
    return await client.readSecret(namespace, name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

interface PkiScope {
  readonly client: KubeClient;
  readonly cluster: string;
  readonly namespace: string;
  readonly owner: V1OwnerReference;
  readonly now: Date;
}

async function write(
  scope: PkiScope,
  existing: Secret | undefined,
  name: string,
  type: string,
  data: Record<string, string>,
): Promise<void> {
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: scope.namespace,
      labels: { ...MANAGED_BY, [PG_LABELS.cluster]: scope.cluster },
      ownerReferences: [scope.owner],
      ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
    },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
  if (existing) await scope.client.replaceSecret(scope.namespace, secret);
  else await scope.client.createSecret(scope.namespace, secret);
}

/**
 * The annotation on every Pod of the cluster naming the PKI it was started with (decision 0284): a Pod whose
 * value is not the current one is replaced, so a rotation reaches every Pod even when the pass that re-issued
 * the Secrets ended (the operator stopped) before it replaced them.
 */
export const PG_PKI_ANNOTATION = 'postgres.silo.io/pki';

/** Makes every PKI Secret of the cluster exist and be current; returns the fingerprint of the certificates now in them. */
export async function ensurePgPki(scope: PkiScope): Promise<string> {
  const names = pgNames(scope.cluster);
  const caSecret = await readOptional(scope.client, scope.namespace, names.caSecret);
  let ca: PemPair | undefined = caSecret ? { cert: text(caSecret, 'ca.crt') ?? '', key: text(caSecret, 'ca.key') ?? '' } : undefined;
  if (!ca || !caIsCurrent(ca, scope.now)) {
    ca = await issueCa({ cluster: `${scope.cluster}-pgbackrest`, now: scope.now });
    await write(scope, caSecret, names.caSecret, 'Opaque', { 'ca.crt': ca.cert, 'ca.key': ca.key });
  }
  const current = ca;
  // The leaves are independent: read, and where needed issued and written, side by side (a new cluster's first pass).
  const leaves = await Promise.all(
    Object.entries(pgLeafIdentities(scope.cluster, scope.namespace)).map(async ([name, identity]) => {
      const existing = await readOptional(scope.client, scope.namespace, name);
      const leaf = { cert: text(existing, 'tls.crt') ?? '', key: text(existing, 'tls.key') ?? '' };
      if (existing && text(existing, 'ca.crt') === current.cert && leafMatches(leaf, current.cert, identity, scope.now)) return leaf.cert;
      const issued = await issueLeaf(current, identity, scope.now);
      await write(scope, existing, name, 'kubernetes.io/tls', { 'tls.crt': issued.cert, 'tls.key': issued.key, 'ca.crt': current.cert });
      return issued.cert;
    }),
  );
  const fingerprint = createHash('sha256').update(ca.cert);
  for (const cert of leaves) fingerprint.update(cert);
  return fingerprint.digest('hex').slice(0, 16);
}
