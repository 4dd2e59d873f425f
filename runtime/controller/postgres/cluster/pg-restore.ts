/**
 * A PGCluster made from spec.dataSource (decisions 0290-0292). Before anything runs it reads the source
 * repository's `pgbackrest info` through the SOURCE's repo host agent, checks the target against the
 * recovery window and writes what it resolved to status.restore, once: later passes build the restore
 * from status alone. Then the primary Pod carries the `restore` init container (pg-restore-pod.ts) and a
 * client certificate from the source's CA, deleted once the restore is done; a failure the init
 * container reports (TargetNotReached, a pgBackRest cause) fails the cluster and removes the Pod, so a
 * restore never loops. A restore interrupted (the container or the Pod killed) resumes from its state
 * on the volume.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { PGRestoreStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { PG_CN, pgNames } from '../../../contracts/pg-pods.js';
import { PG_RESTORE_CN, parsePgRestoreProgress, type PgRestorePlan, type PgRestoreProgress } from '../../../contracts/pg-restore.js';
import { parseResultLine } from '../../../contracts/worker-result.js';
import type { Pod } from '../../kube/client.js';
import { isNotFound } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import { MANAGED_BY } from '../../kube/names.js';
import { CLIENT_AUTH, issueLeaf } from '../../pki/x509.js';
import type { ReconcileResult } from '../../reconciler.js';
import { PG_LABELS, repoIndex, type PGClusterObject } from '../shared/pg-objects.js';
import { stanzaOf } from '../shared/pgbackrest-info.js';
import { RepoAgentClient } from '../shared/repo-agent-client.js';
import { PG_CLUSTER_REASON_TABLE, PGR, pgClusterMessage, type PGClusterReason } from './pg-cluster-reasons.js';
import type { PGClusterScope } from './pg-cluster-scope.js';
import { bucketRepo, readBucket, restoreSourcePod, type SourceRead } from './pg-restore-bucket.js';
import { planRestore, sharedRepository } from './pg-restore-plan.js';
import { restoreProgressStatus } from '../shared/pg-restore-progress.js';
import { RESTORE_CONTAINER, restoreConfig, withRestoreInit } from './pg-restore-pod.js';

const WAIT_MS = 5_000;
const REFUSED_MS = 60_000;

export type RestoreGate =
  | { readonly wait: ReconcileResult }
  | {
      readonly primary: (pod: V1Pod) => V1Pod;
      /**
       * The repo host Pod; the restore source in its place while a repository given directly is restored (decision
       * 0293); none yet while another cluster's repository is restored (decision 0062).
       */
      readonly repoHost: (pod: V1Pod) => V1Pod | undefined;
      readonly observe: (pod: Pod | undefined) => Promise<ReconcileResult | undefined>;
    };

const same = (pod: V1Pod): V1Pod => pod;
const notYet = (): undefined => undefined;
const NO_RESTORE: RestoreGate = { primary: same, repoHost: same, observe: async () => undefined };
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const restoreTlsSecret = (cluster: string): string => `${cluster}-pgbackrest-restore-tls`;

/** The last `restore progress` line of a log. */
export const lastProgress = parsePgRestoreProgress;

/** The restore init container's status, its last termination and the result line it left. */
function restoreContainer(pod: Pod | undefined) {
  const status = pod?.status?.initContainerStatuses?.find((c) => c.name === RESTORE_CONTAINER);
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated;
  const line = parseResultLine(terminated?.message) as (Record<string, unknown> & { outcome: string }) | undefined;
  return { status, terminated, line };
}

/** The source stanza from its repo host, and when its last archived WAL reached the repository. */
async function readSource(agent: RepoAgentClient, key: number): Promise<SourceRead> {
  const status = await agent.status();
  const stanza = stanzaOf(status.info);
  if (status.infoError || !stanza) throw new Error(status.infoError ?? 'the source repository has no stanza db');
  const repoRow = stanza.repo?.find((r) => r.key === key);
  if (repoRow && repoRow.status.code !== 0 && repoRow.status.code !== 2)
    throw new Error(`pgBackRest: ${repoRow.status.message.replace(/[^\x20-\x7e]+/g, '?').slice(0, 300)}`);
  const archives = (stanza.archive ?? []).filter((a) => a.database['repo-key'] === key && a.max);
  const last = archives[archives.length - 1];
  const lastWalTime = last ? (await agent.walTime({ repo: key, archiveId: last.id, segment: last.max! })).time : undefined;
  return { stanza, lastWalTime };
}

export class PGRestoreStep {
  constructor(private readonly scope: PGClusterScope) {}

  private get restore(): PGRestoreStatus | undefined {
    return this.scope.status.restore;
  }

  /** Whether and how the pass may go on: not before the restore is resolved; with the restore init container until done. */
  async gate(): Promise<RestoreGate> {
    const dataSource = this.scope.cluster.spec.dataSource;
    if (!dataSource) return NO_RESTORE;
    let restore = this.restore;
    if (restore?.phase === 'Failed') {
      await this.deletePrimary();
      // A failed restore from the bucket keeps no Pod holding the store's credentials.
      if (dataSource.pgbackrest) await this.deletePod(pgNames(this.scope.name).repoHost);
      return { wait: { requeueAfterMs: 300_000 } };
    }
    if (!restore?.resolvedAt) {
      const resolved = await this.resolve();
      if ('wait' in resolved) return resolved;
      restore = resolved.restore;
    }
    if (restore.phase !== 'Restored') await this.ensureRestoreTls(restore);
    const plan: PgRestorePlan = {
      id: this.scope.cluster.metadata.uid,
      repo: Number(restore.source!.repoName!.slice(4)),
      type: restore.target!.type!,
      ...(restore.backupLabel && ['time', 'lsn', 'immediate'].includes(restore.target!.type!) ? { set: restore.backupLabel } : {}),
      ...(restore.target!.value !== undefined ? { target: restore.target!.value } : {}),
      ...(restore.target!.exclusive ? { exclusive: true } : {}),
      ...(restore.target!.timeline ? { timeline: restore.target!.timeline } : {}),
      conf: restore.source!.pgbackrestConf!,
      ...(restore.backupSizeBytes ? { bytesTotal: restore.backupSizeBytes } : {}),
    };
    const init = {
      plan,
      tlsSecret: restoreTlsSecret(this.scope.name),
      ...(restore.source?.cipherPassphrase ? { cipherPass: restore.source.cipherPassphrase as { name: string; key: string } } : {}),
    };
    return {
      primary: (pod) => withRestoreInit(pod, init),
      // Asked again after observe(): the restore may have become Restored, its primary ready, in between.
      repoHost: (pod) => this.repoHostDuring(this.restore ?? restore)(pod),
      observe: (pod) => this.observe(pod),
    };
  }

  /**
   * A repository given directly: the restore source in the repo host's place until restored. Another cluster's: no
   * repo host until the restored primary takes writes (status.restore.readyAt), so that its start slows neither the
   * restore's nor the database container's (decision 0062).
   */
  private repoHostDuring(restore: PGRestoreStatus): (pod: V1Pod) => V1Pod | undefined {
    const { scope } = this;
    const bucket = scope.cluster.spec.dataSource!.pgbackrest;
    if (!bucket) return restore.readyAt ? same : notYet;
    if (restore.phase === 'Restored') return same;
    return () =>
      restoreSourcePod({ cluster: scope.name, namespace: scope.namespace, spec: scope.cluster.spec, owner: scope.owner }, bucket);
  }

  private async refuse(
    reason: PGClusterReason,
    detail: string,
    waiting: boolean,
    window?: PGRestoreStatus['window'],
  ): Promise<{ wait: ReconcileResult }> {
    const message = pgClusterMessage(reason, detail);
    const restore = { phase: waiting ? 'Waiting' : 'Refused', reason, message, ...(window ? { window } : {}) };
    await this.scope.flush(waiting ? 'Initializing' : 'Failed', false, reason, { restore }, detail);
    return { wait: { requeueAfterMs: waiting ? WAIT_MS * 2 : REFUSED_MS } };
  }

  /** Reads the source repository and checks the target; writes status.restore before anything is created. */
  private async resolve(): Promise<{ restore: PGRestoreStatus } | { wait: ReconcileResult }> {
    const { scope } = this;
    if (scope.cluster.spec.dataSource!.pgbackrest) return this.resolveBucket();
    const ref = scope.cluster.spec.dataSource!.postgresCluster!;
    const namespace = ref.namespace ?? scope.namespace;
    const source = await scope.ctx.client.get<PGClusterObject>(KINDS.PGCluster, { namespace, name: ref.clusterName });
    if (!source) return this.refuse(PGR.SourceClusterNotFound, `${namespace}/${ref.clusterName}`, true);
    const repo = source.spec.backups.pgbackrest.repos.find((r) => r.name === ref.repoName);
    if (!repo) return this.refuse(PGR.SourceRepositoryMissing, `${namespace}/${ref.clusterName} has no ${ref.repoName}`, false);
    const shared = sharedRepository(
      { namespace: scope.namespace, cluster: scope.name, repos: scope.cluster.spec.backups.pgbackrest.repos },
      { namespace, cluster: ref.clusterName, repos: source.spec.backups.pgbackrest.repos },
    );
    if (shared) return this.refuse(PGR.RepositoryOfTheSource, `this cluster's ${shared.own} is the source's ${shared.source}`, false);
    if (repo.encryption && namespace !== scope.namespace)
      return this.refuse(PGR.SourceCipherOutOfReach, `Secret ${repo.encryption.passphrase.name} in ${namespace}`, false);
    const host = source.status?.repoHost;
    if (!host?.ready || !host.podIP || !host.host)
      return this.refuse(PGR.SourceRepositoryUnreachable, `the repo host of ${namespace}/${ref.clusterName} is not ready`, true);
    const agent = new RepoAgentClient(scope.ctx.client, {
      namespace,
      podIp: host.podIP,
      serverName: host.host,
      tlsSecret: pgNames(ref.clusterName).backupTlsSecret,
    });
    const key = repoIndex(repo);
    let read;
    try {
      read = await readSource(agent, key);
    } catch (error) {
      return this.refuse(PGR.SourceRepositoryUnreachable, (error as Error).message, true);
    }
    return this.resolved(read, key, {
      namespace,
      clusterName: ref.clusterName,
      repoName: ref.repoName,
      repoHost: host.host,
      pgbackrestConf: restoreConfig({ namespace, cluster: ref.clusterName, repo, repoHostHost: host.host }),
      ...(repo.encryption ? { cipherPassphrase: { ...repo.encryption.passphrase } } : {}),
    });
  }

  /** A repository given directly (dataSource.pgbackrest): read through this cluster's repo host Pod as the restore source. */
  private async resolveBucket(): Promise<{ restore: PGRestoreStatus } | { wait: ReconcileResult }> {
    const { scope } = this;
    const repo = bucketRepo(scope.cluster.spec);
    // The given repository's path is set (schema), so the source's namespace and cluster never name a default path.
    const shared = sharedRepository(
      { namespace: scope.namespace, cluster: scope.name, repos: scope.cluster.spec.backups.pgbackrest.repos },
      { namespace: scope.namespace, cluster: scope.name, repos: [repo] },
    );
    if (shared)
      return this.refuse(PGR.RepositoryOfTheSource, `this cluster's ${shared.own} is the repository of spec.dataSource.pgbackrest`, false);
    const read = await readBucket(scope, readSource);
    if ('refuse' in read) return this.refuse(read.refuse.reason, read.refuse.detail, read.refuse.waiting);
    const conf = restoreConfig({ namespace: scope.namespace, cluster: scope.name, repo, repoHostHost: read.repoHostHost });
    return this.resolved(read, repoIndex(repo), {
      bucket: true,
      repoName: repo.name,
      repoHost: read.repoHostHost,
      repoPath: repo.path,
      pgbackrestConf: conf,
      ...(repo.encryption ? { cipherPassphrase: { ...repo.encryption.passphrase } } : {}),
    });
  }

  /** The target checked against what was read; status.restore written once, or a refusal. */
  private async resolved(
    read: SourceRead,
    key: number,
    source: NonNullable<PGRestoreStatus['source']>,
  ): Promise<{ restore: PGRestoreStatus } | { wait: ReconcileResult }> {
    const { scope } = this;
    const plan = planRestore(scope.cluster.spec.dataSource!, { stanza: read.stanza, key, lastWalTime: read.lastWalTime });
    if (!plan.ok) return this.refuse(plan.reason, plan.detail, false, plan.window);
    const restore: PGRestoreStatus = {
      phase: 'Resolved',
      // Replaces what an earlier wait or refusal said (status is merge-patched).
      reason: PGR.RestoreResolved,
      message: pgClusterMessage(PGR.RestoreResolved),
      source,
      ...plan.resolved,
      resolvedAt: scope.ctx.now().toISOString(),
    };
    await scope.flush('Restoring', false, PGR.RestoreResolved, { restore });
    scope.ctx.log.info('restore resolved', { cluster: scope.name, backup: restore.backupLabel, target: restore.target });
    return { restore };
  }

  /** The restore's client certificate, from the source's CA, with the instance CN its repo host admits. */
  private async ensureRestoreTls(restore: PGRestoreStatus): Promise<void> {
    const { client } = this.scope.ctx;
    const name = restoreTlsSecret(this.scope.name);
    try {
      await client.readSecret(this.scope.namespace, name);
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    // From the bucket, the restore source is this cluster's repo host Pod: this cluster's CA, the restore's own CN (decision 0293).
    const bucket = !!restore.source!.bucket;
    const caOf = bucket
      ? { namespace: this.scope.namespace, cluster: this.scope.name }
      : { namespace: restore.source!.namespace!, cluster: restore.source!.clusterName! };
    const caSecret = await client.readSecret(caOf.namespace, pgNames(caOf.cluster).caSecret);
    const data = caSecret.data as Record<string, string>;
    const ca = { cert: Buffer.from(data['ca.crt'], 'base64').toString(), key: Buffer.from(data['ca.key'], 'base64').toString() };
    const leaf = await issueLeaf(ca, { cn: bucket ? PG_RESTORE_CN : PG_CN.instance, usages: [CLIENT_AUTH] }, this.scope.ctx.now());
    await client.createSecret(this.scope.namespace, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: this.scope.namespace,
        labels: { ...MANAGED_BY, [PG_LABELS.cluster]: this.scope.name },
        ownerReferences: [this.scope.owner],
      },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(leaf.cert), 'tls.key': b64(leaf.key), 'ca.crt': b64(ca.cert) },
    });
  }

  private async deletePrimary(): Promise<void> {
    await this.deletePod(pgNames(this.scope.name).primary);
  }

  private async deletePod(name: string): Promise<void> {
    if (await this.scope.ctx.client.readPod(this.scope.namespace, name)) await this.scope.ctx.client.deletePod(this.scope.namespace, name);
  }

  /** Reads the restore container's outcome; a wait while it runs, undefined once the primary may start as usual. */
  private async observe(pod: Pod | undefined): Promise<ReconcileResult | undefined> {
    if (this.restore!.phase === 'Restored') return this.measureReady(pod);
    const { status, terminated, line } = restoreContainer(pod);
    if (terminated?.exitCode === 0 && line?.outcome === 'pg-restored') return this.done(line);
    if (terminated && terminated.exitCode !== 0 && line?.outcome === 'failed') return this.fail(line);
    const cause = line?.outcome === 'pg-interrupted' ? `${String(line.reason)}: ${String(line.error)}`.slice(0, 400) : undefined;
    return this.running(!!status?.state?.running, !!terminated, cause);
  }

  /**
   * Running (its step and percent from the log), starting again after an interruption (it resumes from its state on
   * the volume), or not yet started. Once interrupted (a last termination exists) the reason stays RestoreInterrupted
   * until the restore is done: a restart within seconds would otherwise never show (decision 0282).
   */
  private async running(running: boolean, interrupted: boolean, cause?: string): Promise<ReconcileResult> {
    const progress = running ? await this.progress() : undefined;
    const step = progress?.step ?? (running ? 'running' : interrupted ? 'interrupted, resuming' : 'starting');
    const reason = interrupted ? PGR.RestoreInterrupted : PGR.Restoring;
    const restore = { phase: 'Restoring', step, ...restoreProgressStatus(progress, this.restore), reason };
    await this.scope.flush('Restoring', false, reason, { restore: { ...restore, message: pgClusterMessage(reason, cause) } }, cause);
    return { requeueAfterMs: WAIT_MS };
  }

  /** The restore container's last progress line, from its log tail. */
  private async progress(): Promise<PgRestoreProgress | undefined> {
    const { scope } = this;
    const tail = await scope.ctx.client
      .readPodLogTail(scope.namespace, pgNames(scope.name).primary, RESTORE_CONTAINER, 60)
      .catch(() => undefined);
    return lastProgress(tail);
  }

  /** The restore container promoted the copy: what it reached goes to status, the source certificate goes away. */
  private async done(line: Record<string, unknown>): Promise<ReconcileResult | undefined> {
    const { scope } = this;
    const reached: PGRestoreStatus = {
      ...(line.reachedLsn ? { reachedLsn: String(line.reachedLsn) } : {}),
      ...(typeof line.reachedTimeline === 'number' ? { reachedTimeline: line.reachedTimeline } : {}),
      ...(line.reachedTime ? { reachedTime: String(line.reachedTime) } : {}),
    };
    const restore = {
      phase: 'Restored',
      step: 'done',
      restoredAt: scope.ctx.now().toISOString(),
      reason: PGR.Restored,
      message: pgClusterMessage(PGR.Restored),
      ...reached,
      // A pass may have seen the copy half-way last: its figures say it ended.
      ...restoreProgressStatus({ step: 'done' }, this.restore),
    };
    await scope.flush('Initializing', false, PGR.Restored, { restore });
    // The restored cluster keeps no way into the source's repository.
    await scope.ctx.client.deleteSecret(scope.namespace, restoreTlsSecret(scope.name)).catch(() => undefined);
    // The restore source still holds the repo host's place: the next pass replaces it before anything talks to the agent.
    if (scope.cluster.spec.dataSource?.pgbackrest) return { requeueAfterMs: 1_000 };
    return undefined;
  }

  /** The restore container failed and said why: the cluster fails, its primary goes, nothing is tried again. */
  private async fail(line: Record<string, unknown>): Promise<ReconcileResult> {
    const reported = String(line.reason ?? '');
    const reason = (reported in PG_CLUSTER_REASON_TABLE ? reported : PGR.RestoreFailed) as PGClusterReason;
    const detail = String(line.error ?? 'the restore container failed').slice(0, 600);
    const restore = { phase: 'Failed', reason, message: pgClusterMessage(reason, detail) };
    await this.scope.flush('Failed', false, reason, { restore }, detail);
    await this.deletePrimary();
    return { requeueAfterMs: 300_000 };
  }

  /** The measured RTO: from the cluster's creation to the restored primary accepting connections. */
  private async measureReady(pod: Pod | undefined): Promise<undefined> {
    const restore = this.restore!;
    const ready = !!pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (restore.readyAt || !ready) return undefined;
    const now = this.scope.ctx.now();
    const created = Date.parse(this.scope.cluster.metadata.creationTimestamp ?? '');
    const readyAt = now.toISOString();
    const rtoSeconds = Number.isFinite(created) ? Math.round((now.getTime() - created) / 100) / 10 : undefined;
    const updated = await this.scope.ctx.client.patchStatus<PGClusterObject>(
      KINDS.PGCluster,
      { namespace: this.scope.namespace, name: this.scope.name },
      { restore: { readyAt, ...(rtoSeconds !== undefined ? { rtoSeconds } : {}) } },
    );
    this.scope.cluster.status = updated.status;
    return undefined;
  }
}
