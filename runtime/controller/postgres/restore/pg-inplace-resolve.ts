/**
 * Resolving an in-place restore before anything stops: the cluster and repository exist, the backup spec.backup
 * names is a completed one of this cluster, and the target lies in the window of the cluster's own repository,
 * read through its repo host agent (`pgbackrest info` and when the last archived WAL arrived). A refusal that
 * may pass by itself (the repo host starting, the repository unreachable) is a wait.
 */
import { isConditionTrue } from '../../kube/conditions.js';
import { KINDS } from '../../kube/kinds.js';
import type { ReconcileContext } from '../../reconciler.js';
import { pgNames } from '../../../contracts/pg-pods.js';
import { repoIndex, type PGBackupObject, type PGClusterObject, type PGRestoreObject } from '../shared/pg-objects.js';
import { stanzaOf } from '../shared/pgbackrest-info.js';
import { RepoAgentClient } from '../shared/repo-agent-client.js';
import type { SourceRepository } from '../cluster/pg-restore-plan.js';
import { planInPlace, type InPlaceResolved } from './pg-inplace-plan.js';
import { PGI, type PGInPlaceReason } from './pg-restore-kind-reasons.js';
import type { PGInPlaceRestoreStatus } from '../../../../src/api/postgres.silo.io/types.js';

export type Resolution =
  | { readonly resolved: InPlaceResolved }
  | {
      readonly refuse: {
        readonly reason: PGInPlaceReason;
        readonly detail: string;
        readonly waiting: boolean;
        readonly window?: PGInPlaceRestoreStatus['window'];
      };
    };

const refuse = (reason: PGInPlaceReason, detail: string, waiting = false): Resolution => ({ refuse: { reason, detail, waiting } });

/** The label spec.backup names: given, or a completed PGBackup's of this cluster and repository. */
async function backupLabel(ctx: ReconcileContext, restore: PGRestoreObject): Promise<{ label?: string } | Resolution> {
  const wanted = restore.spec.backup;
  if (wanted?.label) return { label: wanted.label };
  if (!wanted?.pgBackup) return {};
  const backup = await ctx.client.get<PGBackupObject>(KINDS.PGBackup, { namespace: restore.metadata.namespace, name: wanted.pgBackup });
  const ours = backup && backup.spec.cluster.name === restore.spec.cluster.name && backup.spec.repoName === restore.spec.repoName;
  if (!ours || backup.status?.phase !== 'completed' || !backup.status.label || backup.status.expiredAt)
    return refuse(PGI.BackupNotFound, `PGBackup ${wanted.pgBackup} is ${backup ? (backup.status?.phase ?? 'pending') : 'missing'}`);
  return { label: backup.status.label };
}

async function readRepository(ctx: ReconcileContext, cluster: PGClusterObject, key: number): Promise<SourceRepository> {
  const host = cluster.status!.repoHost!;
  const agent = new RepoAgentClient(ctx.client, {
    namespace: cluster.metadata.namespace,
    podIp: host.podIP!,
    serverName: host.host!,
    tlsSecret: pgNames(cluster.metadata.name).backupTlsSecret,
  });
  const status = await agent.status();
  const stanza = stanzaOf(status.info);
  if (status.infoError || !stanza) throw new Error(status.infoError ?? 'the repository has no stanza db');
  const archives = (stanza.archive ?? []).filter((a) => a.database['repo-key'] === key && a.max);
  const last = archives[archives.length - 1];
  const lastWalTime = last ? (await agent.walTime({ repo: key, archiveId: last.id, segment: last.max! })).time : undefined;
  return { stanza, key, ...(lastWalTime ? { lastWalTime } : {}) };
}

const repoHostServes = (cluster: PGClusterObject): boolean => {
  const host = cluster.status?.repoHost;
  return !!host?.ready && !!host.podIP && !!host.host && isConditionTrue(cluster.status?.conditions, 'StanzaReady');
};

export async function resolveInPlace(ctx: ReconcileContext, restore: PGRestoreObject, cluster: PGClusterObject): Promise<Resolution> {
  const repo = cluster.spec.backups.pgbackrest.repos.find((r) => r.name === restore.spec.repoName);
  if (!repo) return refuse(PGI.RepoNotFound, `${cluster.metadata.name} has no ${restore.spec.repoName}`);
  if (cluster.spec.dataSource && cluster.status?.restore?.phase !== 'Restored')
    return refuse(PGI.ClusterFromDataSource, `status.restore.phase is ${cluster.status?.restore?.phase ?? 'unset'}`, true);
  const chosen = await backupLabel(ctx, restore);
  if ('refuse' in chosen) return chosen;
  if (!repoHostServes(cluster))
    return refuse(PGI.ClusterNotReady, `the repo host of ${cluster.metadata.name} is not ready or the stanza is missing`, true);
  let source: SourceRepository;
  try {
    source = await readRepository(ctx, cluster, repoIndex(repo));
  } catch (error) {
    return refuse(PGI.RepositoryUnreachable, (error as Error).message.slice(0, 400), true);
  }
  const plan = planInPlace(restore.spec, source, 'label' in chosen ? chosen.label : undefined);
  if (!plan.ok)
    return { refuse: { reason: plan.reason, detail: plan.detail, waiting: false, ...(plan.window ? { window: plan.window } : {}) } };
  return { resolved: plan.resolved };
}
