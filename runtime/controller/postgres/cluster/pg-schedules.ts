/**
 * spec.backups.pgbackrest.repos[].schedules: per repository and type, a PGBackup for the latest cron
 * slot that passed since the last one handled (missed slots give one catch-up, never a burst; none
 * before the cluster existed). Backups of a cluster are queued (decision 0273), so overlapping
 * schedules wait their turn instead of failing on pgBackRest's lock. The slot handled is recorded in
 * status.schedules, so a restarted operator never creates a slot twice (the PGBackup's name is the slot).
 */
import type { PGBackRestRepo } from '../../../../src/api/postgres.silo.io/types.js';
import { isAlreadyExists } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import { boundedName } from '../../kube/names.js';
import { InvalidScheduleError, planSlots } from '../../schedule/cron.js';
import { PG_LABELS } from '../shared/pg-objects.js';
import type { PGClusterScope } from './pg-cluster-scope.js';

const TYPES = ['full', 'differential', 'incremental'] as const;
const SHORT = { full: 'full', differential: 'diff', incremental: 'incr' } as const;

const slotStamp = (slot: Date): string => slot.toISOString().slice(0, 16).replace(/[-:T]/g, '');

export interface ScheduleResult {
  /** status.schedules after this pass. */
  readonly handled: Record<string, string>;
  /** When the next slot of any schedule is due. */
  readonly nextInMs?: number;
}

async function createScheduled(scope: PGClusterScope, repo: PGBackRestRepo, type: (typeof TYPES)[number], slot: Date): Promise<string> {
  const name = boundedName(`${scope.name}-${repo.name}-${SHORT[type]}`, slotStamp(slot));
  try {
    await scope.ctx.client.create(KINDS.PGBackup, {
      metadata: {
        name,
        namespace: scope.namespace,
        labels: { [PG_LABELS.cluster]: scope.name, 'postgres.silo.io/schedule': `${repo.name}-${type}` },
        ownerReferences: [scope.owner],
      },
      spec: { cluster: { name: scope.name }, repoName: repo.name, type },
    });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  return name;
}

export async function runSchedules(scope: PGClusterScope): Promise<ScheduleResult> {
  const now = scope.ctx.now();
  const handled: Record<string, string> = { ...(scope.status.schedules ?? {}) };
  const created = scope.cluster.metadata.creationTimestamp ?? now.toISOString();
  let next: number | undefined;
  for (const repo of scope.cluster.spec.backups.pgbackrest.repos) {
    for (const type of TYPES) {
      const cron = repo.schedules?.[type];
      if (!cron) continue;
      const key = `${repo.name}-${type}`;
      let plan;
      try {
        plan = planSlots(cron, repo.schedules?.timeZone, new Date(handled[key] ?? created), now);
      } catch (error) {
        if (!(error instanceof InvalidScheduleError)) throw error;
        await scope.ctx.events.record(scope.cluster, 'Warning', 'InvalidSchedule', `${key}: ${error.message}`);
        continue;
      }
      if (plan.due) {
        const name = await createScheduled(scope, repo, type, plan.due);
        handled[key] = plan.due.toISOString();
        await scope.ctx.events.record(scope.cluster, 'Normal', 'ScheduledBackup', `${key}: created PGBackup ${name} for ${handled[key]}`);
      }
      next = Math.min(next ?? Infinity, plan.next.getTime() - now.getTime());
    }
  }
  return { handled, ...(next !== undefined ? { nextInMs: Math.max(1_000, next) } : {}) };
}
