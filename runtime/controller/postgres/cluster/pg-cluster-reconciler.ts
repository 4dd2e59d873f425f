/**
 * postgres.silo.io PGCluster: its pgBackRest PKI, the superuser Secret, headless Services, the
 * primary and the repo host (Pods and PVCs managed directly, as for mysql Clusters, decision 0261),
 * the stanza (created once on every repository; a path holding another database's stanza is refused
 * with StanzaMismatch), WAL archiving checked with `pgbackrest check`, the initial full backup, and
 * the status read from `pgbackrest info` through the repo host agent (decisions 0270-0273).
 *
 * Each pass runs the steps in order; a step that must wait returns when to look again.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { pgNames, podDnsName, type AgentStatus } from '../../../contracts/pg-pods.js';
import type { Pod } from '../../kube/client.js';
import { KINDS } from '../../kube/kinds.js';
import { ownerKeysOf } from '../../kube/owner-keys.js';
import { statusOnlyChange } from '../../kube/update-predicates.js';
import { PG_BACKUP_LOCK } from '../backup/pg-backup-lock.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import { PG_LABELS, defaultRepoPath, pgImage, repoIndex, repoType, type PGClusterObject } from '../shared/pg-objects.js';
import { repoStatusRow, stanzaOf, systemIdOf } from '../shared/pgbackrest-info.js';
import { RepoAgentClient } from '../shared/repo-agent-client.js';
import { lastArchivedAt, pgClusterSample } from '../shared/pg-metrics.js';
import { ensureInitialBackup } from './pg-initial-backup.js';
import { runSchedules } from './pg-schedules.js';
import { markExpiredBackups } from './pg-expired-backups.js';
import { PGR, type PGClusterReason } from './pg-cluster-reasons.js';
import { PGClusterScope } from './pg-cluster-scope.js';
import { PG_PKI_ANNOTATION, ensurePgPki } from './pg-pki.js';
import { archivingVerdict } from './pg-archiving.js';
import type { ArchiverStats } from './pg-primary-sql.js';
import { clusterPvcs, clusterServices, podConfigHash, primaryPod, repoHostPod, type PodInput } from './pg-pods.js';
import { instanceConfig, repoHostConfig } from './pgbackrest-config.js';
import { ensureSuperuserSecret } from './pg-users.js';
import { PGRestoreStep, type RestoreGate } from './pg-restore.js';
import { reconcileReplicas } from './pg-replicas.js';
import { pgClientServices } from './pg-services.js';
import type { PGRepoStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { inPlaceHold, type InPlaceHold } from '../restore/pg-inplace-hold-pass.js';

/** What a pass builds its Pods and configs from (pgbackrest.conf is rendered per Pod). */
type PassInput = Omit<PodInput, 'pgbackrestConf'> & { readonly primaryHost: string; readonly repoHostHost: string };

const WAITING_MS = 3_000;
const REFRESH_MS = 30_000;
const INSTANCES_REFRESH_MS = 10_000;
/** How often a Ready cluster's archiving is proved again with `pgbackrest check` (one WAL switch each time). */
const ARCHIVE_CHECK_MS = 10 * 60_000;

export const isPodReady = (pod: Pod | undefined): boolean =>
  !!pod && !pod.metadata?.deletionTimestamp && !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** The PGCluster a PGRestore names. */
export function restoredClusterKey(restore: KubeObject): ObjectKey[] {
  const name = (restore.spec as { cluster?: { name?: string } } | undefined)?.cluster?.name;
  return name && restore.metadata?.namespace ? [{ namespace: restore.metadata.namespace, name }] : [];
}

export class PGClusterReconciler implements Reconciler {
  readonly name = 'pgcluster';
  readonly kind = KINDS.PGCluster;
  readonly watches = [
    { kind: KINDS.Pod, labelSelector: PG_LABELS.cluster, toKeys: ownerKeysOf(KINDS.PGCluster) },
    // A PGRestore's phase decides what a held cluster's pass builds (the restoring primary once it says Restoring):
    // without this the pass came on its own 3 s requeue, after the old Pods were gone (bench:pg-restore's in-place round).
    { kind: KINDS.PGRestore, toKeys: restoredClusterKey },
  ];
  /**
   * Its own status writes, and the backup lock a PGBackup takes and releases, change nothing a pass decides on: the
   * pass that wrote the status went on with it, and queueing backups is the PGBackup reconciler's. Each such update
   * used to start a whole pass (the PKI and Services read, `pgbackrest info` on the repo host) while a restore's Pod
   * or a backup's Job started (decision 0254). Spec, labels, the restore hold, finalizers and deletion still do.
   */
  readonly ignoresUpdate = (previous: KubeObject, current: KubeObject): boolean => statusOnlyChange(previous, current, [PG_BACKUP_LOCK]);

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const cluster = await ctx.client.get<PGClusterObject>(KINDS.PGCluster, key);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    return new PGClusterPass(new PGClusterScope(ctx, cluster)).run();
  }
}

class PGClusterPass {
  private readonly names;
  private archiveCheckedAt?: string;
  constructor(private readonly scope: PGClusterScope) {
    this.names = pgNames(scope.name);
  }

  private get spec() {
    return this.scope.cluster.spec;
  }

  async run(): Promise<ReconcileResult> {
    const { scope } = this;
    const { client } = scope.ctx;
    const owned = { cluster: scope.name, namespace: scope.namespace, owner: scope.owner };
    // Independent objects, checked or made side by side, not one after another: every pass does this, and a new
    // cluster's first pass (a restore's resolve among it) waits on it.
    const [pki] = await Promise.all([
      ensurePgPki({ client, cluster: scope.name, namespace: scope.namespace, owner: scope.owner, now: scope.ctx.now() }),
      ensureSuperuserSecret(scope),
      ...[...clusterServices(owned), ...pgClientServices(owned)].map((service) => client.applyService(service)),
    ]);
    // A PGRestore holds the cluster (decision 0294): volumes and repo host only, the primary as the restore builds it.
    const hold = await inPlaceHold(client, scope.cluster);
    if (hold) return this.held(hold, pki);
    // A cluster made from dataSource: nothing is created before its restore is resolved and checked.
    const restore = await new PGRestoreStep(scope).gate();
    if ('wait' in restore) return restore.wait;
    const input = this.podInput();
    const started = await this.primaryAndRepoHost(restore, input, pki);
    if ('wait' in started) return started.wait;
    const { primary, repoHost, instancesInput } = started;
    const instances = await reconcileReplicas({ scope, pod: instancesInput, primary, ensurePod: (pod) => this.ensurePod(pod, pki) });
    scope.instances = instances.status;
    const pods = {
      primary: { name: this.names.primary, podIP: primary?.status?.podIP, host: input.primaryHost, ready: isPodReady(primary) },
      repoHost: { name: this.names.repoHost, podIP: repoHost?.status?.podIP, host: input.repoHostHost, ready: isPodReady(repoHost) },
    };
    scope.set('RepoHostReady', pods.repoHost.ready, pods.repoHost.ready ? PGR.RepoHostRunning : PGR.RepoHostStarting);
    if (!pods.repoHost.ready || !pods.primary.ready) {
      if (!scope.condition('StanzaReady')) scope.set('StanzaReady', false, PGR.StanzaPending);
      if (!scope.condition('ContinuousArchiving')) scope.set('ContinuousArchiving', false, PGR.ArchivePending);
      const reason = pods.primary.ready ? PGR.RepoHostStarting : PGR.PrimaryStarting;
      await scope.flush('Initializing', false, reason, { ...pods, stanza: 'db' });
      return { requeueAfterMs: WAITING_MS };
    }
    const result = await this.pgbackrest(pods, instances.archiver);
    // Replicas' rows are refreshed at least every 10 s, every 3 s while one joins (decision 0276).
    const cap = instances.converging ? WAITING_MS : (this.spec.instances ?? 1) > 1 ? INSTANCES_REFRESH_MS : Infinity;
    return { ...result, requeueAfterMs: Math.min(result.requeueAfterMs ?? REFRESH_MS, cap) };
  }

  /** The volumes, the repo host and the primary; a wait while the primary restores (replicas clone it once it is done). */
  private async primaryAndRepoHost(
    restore: Exclude<RestoreGate, { wait: unknown }>,
    input: PassInput,
    pki: string,
  ): Promise<{ wait: ReconcileResult } | { primary?: Pod; repoHost?: Pod; instancesInput: PodInput }> {
    await Promise.all(clusterPvcs({ ...input, pgbackrestConf: '' }).map((pvc) => this.scope.ctx.client.createPvc(pvc)));
    const ownRepoHost = () => repoHostPod({ ...input, pgbackrestConf: repoHostConfig(input) });
    const early = restore.repoHost(ownRepoHost());
    let repoHost = early && (await this.ensurePod(early, pki));
    const instancesInput = { ...input, pgbackrestConf: instanceConfig(input) };
    const primary = await this.ensurePod(restore.primary(primaryPod(instancesInput)), pki);
    const restoring = await restore.observe(primary);
    if (restoring) return { wait: restoring };
    // Restored from another cluster's repository: this cluster's repo host starts once the restored primary takes
    // writes (observe() has just seen it), not beside the restore or the database container's start (decision 0062).
    const late = early ? undefined : restore.repoHost(ownRepoHost());
    if (late) repoHost = await this.ensurePod(late, pki);
    return { primary, repoHost, instancesInput };
  }

  private async held(hold: InPlaceHold, pki: string): Promise<ReconcileResult> {
    const { scope } = this;
    const input = this.podInput();
    for (const pvc of clusterPvcs({ ...input, pgbackrestConf: '' })) await scope.ctx.client.createPvc(pvc);
    await this.ensurePod(repoHostPod({ ...input, pgbackrestConf: repoHostConfig(input) }), pki);
    if (hold.primary) await this.ensurePod(hold.primary(primaryPod({ ...input, pgbackrestConf: instanceConfig(input) })), pki);
    scope.set('ContinuousArchiving', false, PGR.RestoringInPlace);
    await scope.flush('Restoring', false, PGR.RestoringInPlace, {}, `PGRestore ${hold.restore}`);
    return { requeueAfterMs: WAITING_MS };
  }

  private podInput(): PassInput {
    const { scope } = this;
    return {
      cluster: scope.name,
      namespace: scope.namespace,
      // The builders read the image from the spec: resolved here with the operator's SILO_PG_INSTANCE_IMAGE.
      spec: { ...this.spec, image: pgImage(this.spec, scope.ctx.settings) },
      owner: scope.owner,
      primaryHost: podDnsName(this.names.primary, this.names.instancesService, scope.namespace),
      repoHostHost: podDnsName(this.names.repoHost, this.names.repoService, scope.namespace),
    };
  }

  /** Creates the Pod, or replaces it when what it is built from changed (or it holds another PKI); returns it as it is. */
  private async ensurePod(desired: V1Pod, pki: string): Promise<Pod | undefined> {
    const { client } = this.scope.ctx;
    const name = desired.metadata!.name!;
    desired.metadata!.annotations = { ...desired.metadata!.annotations, [PG_PKI_ANNOTATION]: pki };
    const current = await client.readPod(this.scope.namespace, name);
    if (!current) {
      await client.createPod(desired);
      return undefined;
    }
    const replace = current.metadata?.annotations?.[PG_PKI_ANNOTATION] !== pki;
    const stale = podConfigHash(current) !== podConfigHash(desired) || current.status?.phase === 'Failed' || replace;
    if (stale && !current.metadata?.deletionTimestamp) {
      this.scope.ctx.log.info('replacing Pod', { pod: name, cluster: this.scope.name, pkiRotated: replace });
      await client.deletePod(this.scope.namespace, name);
      return undefined;
    }
    return current;
  }

  /** The stanza, archiving, the initial backup and the repositories' status, through the repo host agent. */
  private async pgbackrest(
    pods: { primary: object; repoHost: { podIP?: string; host: string } },
    archiver?: ArchiverStats,
  ): Promise<ReconcileResult> {
    const { scope } = this;
    const agent = new RepoAgentClient(scope.ctx.client, {
      namespace: scope.namespace,
      podIp: pods.repoHost.podIP!,
      serverName: pods.repoHost.host,
      tlsSecret: this.names.backupTlsSecret,
    });
    let info: AgentStatus;
    try {
      info = await agent.status();
    } catch (error) {
      scope.set('RepoHostReady', false, PGR.RepoHostUnreachable, `the repo host agent did not answer: ${(error as Error).message}`);
      await scope.flush('Initializing', false, PGR.RepoHostUnreachable, pods);
      return { requeueAfterMs: WAITING_MS };
    }
    const stanzaDone = await this.ensureStanza(agent, info, pods);
    if (!('info' in stanzaDone)) return stanzaDone;
    info = stanzaDone.info;
    const repos = this.repoRows(info);
    const archiveDetail = await this.checkArchiving(agent, info, archiver);
    const archiving = scope.condition('ContinuousArchiving')?.status === 'True';
    // A backup waits for its WAL to be archived: the initial one starts once archiving works.
    const initialBackup = archiving ? await ensureInitialBackup(scope) : undefined;
    const schedules = archiving ? await runSchedules(scope) : undefined;
    // While archiving fails the info in hand is read again only to learn nothing: a store that is down takes 40 s.
    await markExpiredBackups(scope, async () => stanzaOf((archiving ? await agent.status() : info).info));
    const stanza = stanzaOf(info.info);
    const reason = archiving ? PGR.Ready : (scope.condition('ContinuousArchiving')!.reason as PGClusterReason);
    const status = {
      ...pods,
      stanza: 'db',
      repos,
      ...(systemIdOf(stanza) ? { systemIdentifier: systemIdOf(stanza) } : {}),
      ...(initialBackup ? { initialBackup } : {}),
      ...(schedules && Object.keys(schedules.handled).length ? { schedules: schedules.handled } : {}),
      ...(this.archiveCheckedAt ? { lastArchiveCheck: this.archiveCheckedAt } : {}),
    };
    await scope.flush(archiving ? 'Ready' : 'Degraded', archiving, reason, status, archiveDetail);
    const archiveCheckFailure = archiveDetail ? scope.condition('ContinuousArchiving')?.reason : undefined;
    scope.ctx.metrics.observePgCluster?.(
      pgClusterSample({ namespace: scope.namespace, cluster: scope.name, status: scope.status, stanza, archiveCheckFailure }),
    );
    return { requeueAfterMs: archiving ? Math.min(REFRESH_MS, schedules?.nextInMs ?? REFRESH_MS) : 15_000 };
  }

  /**
   * stanza-create is idempotent and the only check that the stanza in a repository is this database's (a path
   * holding another cluster's stanza shows in info as created): it runs until it succeeded for these repositories.
   */
  private async ensureStanza(agent: RepoAgentClient, info: AgentStatus, pods: object): Promise<{ info: AgentStatus } | ReconcileResult> {
    const { scope } = this;
    const repos = this.repoRows(info);
    // A repository info could not read (its store down) says nothing of its stanza, and stanza-create would wait on
    // it for minutes: its stanza stays as it was, and archiving says why (decision 0283).
    const unread = new Set((info.repoFailures ?? []).map((f) => `repo${f.repo}`));
    if (scope.condition('StanzaReady')?.status === 'True' && repos.every((r) => r.stanzaCreated || unread.has(r.name ?? '')))
      return { info };
    const created = await agent.createStanza();
    if (!created.ok) {
      const reason = created.reason ?? PGR.PgBackRestFailed;
      scope.set('StanzaReady', false, reason, created.message);
      scope.set('ContinuousArchiving', false, PGR.ArchivePending);
      await scope.flush('Failed', false, reason, { ...pods, repos }, created.message);
      return { requeueAfterMs: 60_000 };
    }
    scope.set('StanzaReady', true, PGR.StanzaCreated);
    return { info: await agent.status() };
  }

  /**
   * ContinuousArchiving from the pass's signals (pg-archiving.ts, decision 0283): a repository info could not read
   * makes it False at once; otherwise `pgbackrest check` (a WAL switch that must reach every repository within
   * archive-timeout) runs when the primary's archiver fails, until it passes, and again every ARCHIVE_CHECK_MS.
   * Returns the cause's words when archiving fails now.
   */
  private async checkArchiving(agent: RepoAgentClient, info: AgentStatus, archiver?: ArchiverStats): Promise<string | undefined> {
    const { scope } = this;
    const last = Date.parse(scope.status.lastArchiveCheck ?? '');
    const verdict = archivingVerdict({
      repoFailures: info.repoFailures,
      archiver,
      archiving: scope.condition('ContinuousArchiving')?.status === 'True',
      fresh: Number.isFinite(last) && scope.ctx.now().getTime() - last < ARCHIVE_CHECK_MS,
    });
    if (verdict.kind === 'proven') return undefined;
    if (verdict.kind === 'failing') {
      scope.set('ContinuousArchiving', false, verdict.reason, verdict.detail);
      return verdict.detail;
    }
    const checked = await agent.check();
    if (checked.ok) {
      scope.set('ContinuousArchiving', true, PGR.WALArchived);
      this.archiveCheckedAt = scope.ctx.now().toISOString();
      return undefined;
    }
    scope.set('ContinuousArchiving', false, checked.reason ?? PGR.PgBackRestFailed, checked.message);
    return checked.message;
  }

  private repoRows(info: AgentStatus): PGRepoStatus[] {
    const stanza = stanzaOf(info.info);
    return this.spec.backups.pgbackrest.repos.map((repo) => {
      const read = repoStatusRow(stanza, repoIndex(repo));
      const previous = this.scope.status.repos?.find((r) => r.name === repo.name);
      // A repository info could not read lists nothing: its row keeps what was last read, with pgBackRest's error.
      const unread = info.repoFailures?.some((f) => f.repo === repoIndex(repo)) && previous;
      const row = unread ? { ...previous, statusCode: read.statusCode, statusMessage: read.statusMessage } : read;
      const archivedAt = lastArchivedAt(row, previous, this.scope.ctx.now());
      return {
        name: repo.name,
        type: repoType(repo),
        path: repo.path ?? defaultRepoPath(this.scope.namespace, this.scope.name),
        ...row,
        ...(archivedAt ? { lastArchivedAt: archivedAt } : {}),
      };
    });
  }
}
