/**
 * Recovery from the bucket alone (spec.dataSource.pgbackrest, decision 0293): the source cluster, its
 * namespace and its repo host may be gone, so while the restore runs this cluster's repo host Pod is a
 * restore source instead: the same name, DNS name and certificates (this cluster's CA), with the given
 * repository's credentials and a pgbackrest.conf naming only it, its TLS server admitting only the
 * restore's CN (PG_RESTORE_CN). The operator resolves the restore through its agent exactly as through
 * a source cluster's repo host; the primary's restore init container reaches the repository through its
 * `pgbackrest server`. Once restored, the Pod's hash differs from the real repo host's and it is replaced.
 */
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { PGBackRestRepo, PGClusterSpec, PGDataSourceRepository } from '../../../../src/api/postgres.silo.io/types.js';
import { PG_RUN_DIR, PG_STANZA, PG_TLS_COPY, PGDATA, pgNames, podDnsName } from '../../../contracts/pg-pods.js';
import { PG_RESTORE_CN } from '../../../contracts/pg-restore.js';
import type { Pod } from '../../kube/client.js';
import { repoIndex } from '../shared/pg-objects.js';
import type { InfoStanza } from '../shared/pgbackrest-info.js';
import { RepoAgentClient } from '../shared/repo-agent-client.js';
import { PGR, type PGClusterReason } from './pg-cluster-reasons.js';
import type { PGClusterScope } from './pg-cluster-scope.js';
import { podConfigHash, repoHostPod } from './pg-pods.js';
import { ini, repoOptions } from './pgbackrest-config.js';

/** The restore source's pgbackrest.conf: the one repository (its credentials come as variables), its server for the restore only. */
export function restoreSourceConfig(source: PGDataSourceRepository, namespace: string, cluster: string): string {
  const repo = source.repo;
  const global: Record<string, string | undefined> = {
    'log-level-file': 'off',
    'log-level-console': 'info',
    'lock-path': `${PG_RUN_DIR}/lock`,
    ...(source.global ?? {}),
    'tls-server-ca-file': PG_TLS_COPY.ca,
    'tls-server-cert-file': PG_TLS_COPY.cert,
    'tls-server-key-file': PG_TLS_COPY.key,
    'tls-server-auth': `${PG_RESTORE_CN}=${PG_STANZA}`,
    // path is required by the schema, so namespace and cluster never pick the default path here.
    ...repoOptions(repo, namespace, cluster),
    ...(repo.encryption ? { [`repo${repoIndex(repo)}-cipher-type`]: repo.encryption.cipherType ?? 'aes-256-cbc' } : {}),
  };
  return ini([
    ['global', global],
    [PG_STANZA, { 'pg1-path': PGDATA }],
  ]);
}

export interface RestoreSourceInput {
  readonly cluster: string;
  readonly namespace: string;
  readonly spec: PGClusterSpec;
  readonly owner: V1OwnerReference;
}

/** This cluster's repo host Pod as the restore source of a repository given directly. */
export function restoreSourcePod(input: RestoreSourceInput, source: PGDataSourceRepository): V1Pod {
  const pgbackrest = { ...input.spec.backups.pgbackrest, repos: [source.repo] };
  return repoHostPod({
    ...input,
    spec: { ...input.spec, backups: { ...input.spec.backups, pgbackrest } },
    pgbackrestConf: restoreSourceConfig(source, input.namespace, input.cluster),
  });
}

/** The repository given directly, as the restore's config names it. */
export const bucketRepo = (spec: PGClusterSpec): PGBackRestRepo => spec.dataSource!.pgbackrest!.repo;

const CAUSES: ReadonlyArray<readonly [PGClusterReason, RegExp]> = [
  [PGR.CipherMismatch, /CryptoError|cipher header invalid|wrong final block length|bad decrypt|key\/value found outside of section/i],
  [PGR.BucketMissing, /NoSuchBucket|NoSuchContainer|ContainerNotFound|bucket .* does not exist/i],
  [
    PGR.StorageAuthFailed,
    // pgBackRest 2.45 names only the status when info lists a bucket with a wrong key: "HTTP request failed with 403 (Forbidden)".
    /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|AuthenticationFailed|\[403\]|HTTP 403|HTTP 401|failed with 40[13]\b|invalid_grant/i,
  ],
];
const clean = (text: string): string => text.replace(/[^\x20-\x7e]+/g, '?').slice(0, 300);

/** What a failed `pgbackrest info` of a repository given directly says, as a reason: waiting only when the store did not answer. */
export function infoRefusal(message: string): { reason: PGClusterReason; detail: string; waiting: boolean } {
  if (/missing stanza path|does not exist|no stanza/i.test(message) && !/bucket|container/i.test(message))
    return { reason: PGR.SourceStanzaNotFound, detail: clean(message), waiting: false };
  const cause = CAUSES.find(([, pattern]) => pattern.test(message));
  if (cause) return { reason: cause[0], detail: clean(message), waiting: false };
  return { reason: PGR.SourceRepositoryUnreachable, detail: clean(message), waiting: true };
}

export type SourceRead = { stanza: InfoStanza; lastWalTime?: number };
type Refusal = { refuse: { reason: PGClusterReason; detail: string; waiting: boolean } };

/**
 * Starts this cluster's repo host Pod as the restore source and reads the repository through its agent
 * (`read`, shared with the postgresCluster path); a refusal while it starts or when the repository cannot be read.
 */
export async function readBucket(
  scope: PGClusterScope,
  read: (agent: RepoAgentClient, key: number) => Promise<SourceRead>,
): Promise<(SourceRead & { repoHostHost: string }) | Refusal> {
  const { client } = scope.ctx;
  const names = pgNames(scope.name);
  const desired = restoreSourcePod(
    { cluster: scope.name, namespace: scope.namespace, spec: scope.cluster.spec, owner: scope.owner },
    scope.cluster.spec.dataSource!.pgbackrest!,
  );
  const starting = (detail: string): Refusal => ({ refuse: { reason: PGR.RestoreSourceStarting, detail, waiting: true } });
  const current: Pod | undefined = await client.readPod(scope.namespace, names.repoHost);
  if (!current) {
    await client.createPod(desired);
    return starting('created');
  }
  if (podConfigHash(current) !== podConfigHash(desired)) {
    if (!current.metadata?.deletionTimestamp) await client.deletePod(scope.namespace, names.repoHost);
    return starting('replacing an earlier Pod');
  }
  const ready = current.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready || !current.status?.podIP) return starting(`Pod ${names.repoHost} is not ready`);
  const repoHostHost = podDnsName(names.repoHost, names.repoService, scope.namespace);
  const agent = new RepoAgentClient(client, {
    namespace: scope.namespace,
    podIp: current.status.podIP,
    serverName: repoHostHost,
    tlsSecret: names.backupTlsSecret,
  });
  try {
    return { ...(await read(agent, repoIndex(bucketRepo(scope.cluster.spec)))), repoHostHost };
  } catch (error) {
    return { refuse: infoRefusal((error as Error).message) };
  }
}
