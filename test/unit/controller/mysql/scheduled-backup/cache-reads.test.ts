/**
 * The ScheduledBackup reconciler reads from the informer cache: the reconciles
 * that its own status writes and its children's updates cause make no API
 * call, and a slot that the cache says is due is confirmed with the API server
 * (the cached status may lag the last lastScheduleTime written). The
 * client's KubeConfig points at a closed port, so any API call fails the reconcile.
 */
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../../../runtime/controller/kube/client.js';
import { KINDS } from '../../../../../runtime/controller/kube/kinds.js';
import { scheduledBackupReconciler } from '../../../../../runtime/controller/mysql/scheduled-backup/scheduled-backup-reconciler.js';
import {
  ANNOTATION_SCHEDULED_BACKUP,
  LABEL_SCHEDULED_BACKUP,
} from '../../../../../runtime/controller/mysql/scheduled-backup/child-backup.js';
import type { KindRef, KubeObject, ObjectCache, ObjectKey, ReconcileContext } from '../../../../../runtime/controller/reconciler.js';
import { createLogger } from '../../../../../runtime/logging/logger.js';

const NS = 'unit';
const now = new Date('2026-11-22T06:00:30Z');
const next = '2026-11-22T06:01:00.000Z'; // "0 * * * * *" after `now`

function unreachable(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'closed', server: 'https://127.0.0.1:9', skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'c', cluster: 'closed', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

class MapCache implements ObjectCache {
  constructor(private readonly objects: Array<{ kind: KindRef; object: KubeObject }>) {}
  get(kind: KindRef, key: ObjectKey) {
    return this.list(kind, key.namespace).find((o) => o.metadata?.name === key.name);
  }
  list(kind: KindRef, namespace?: string) {
    return this.objects.filter((o) => o.kind === kind && (!namespace || o.object.metadata?.namespace === namespace)).map((o) => o.object);
  }
}

function context(cache: ObjectCache, events: string[]): ReconcileContext {
  return {
    client: new KubeClient(unreachable()),
    cache,
    events: {
      record: async (_o, type, reason) => {
        events.push(`${type} ${reason}`);
      },
    },
    metrics: { observeBackup: () => undefined },
    log: createLogger({}, { level: 'error', write: () => undefined }),
    now: () => now,
    signal: new AbortController().signal,
    settings: { workerImage: 'stand-in', operatorNamespace: 'silo-system' },
  };
}

const schedule = (status: Record<string, unknown>): KubeObject => ({
  apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
  kind: 'ScheduledBackup',
  metadata: { name: 'nightly', namespace: NS, uid: 'u1', generation: 1, resourceVersion: '7', creationTimestamp: '2026-11-22T05:00:00Z' },
  spec: { schedule: '0 * * * * *', cluster: { name: 'db' } },
  status,
});

const child = (name: string, phase: string): KubeObject => ({
  metadata: {
    name,
    namespace: NS,
    labels: { [LABEL_SCHEDULED_BACKUP]: 'nightly' },
    annotations: { [ANNOTATION_SCHEDULED_BACKUP]: 'nightly' },
  },
  status: { phase },
});

describe('ScheduledBackup reconciler: cache reads', () => {
  it('with nothing due and nothing new in status, a reconcile makes no API call', async () => {
    const current = schedule({
      lastScheduleTime: '2026-11-22T06:00:00.000Z',
      lastBackupName: 'nightly-20261122060000',
      nextScheduleTime: next,
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Scheduled',
          message: `next Backup at ${next}`,
          lastTransitionTime: '2026-11-22T05:00:00.000Z',
          observedGeneration: 1,
        },
      ],
    });
    const events: string[] = [];
    const cache = new MapCache([
      { kind: KINDS.ScheduledBackup, object: current },
      { kind: KINDS.Backup, object: child('nightly-20261122060000', 'running') },
    ]);
    const result = await scheduledBackupReconciler().reconcile({ namespace: NS, name: 'nightly' }, context(cache, events));
    expect(result?.requeueAfterMs).to.equal(30_100);
    expect(events).to.deep.equal([]);
  });

  it('a slot the cached status says is due is confirmed with the API server, not fired from the cache', async () => {
    const stale = schedule({
      lastScheduleTime: '2026-11-22T05:59:00.000Z',
      nextScheduleTime: '2026-11-22T06:00:00.000Z',
      observedGeneration: 1,
    });
    const events: string[] = [];
    const cache = new MapCache([{ kind: KINDS.ScheduledBackup, object: stale }]);
    let error: Error | undefined;
    try {
      await scheduledBackupReconciler().reconcile({ namespace: NS, name: 'nightly' }, context(cache, events));
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message ?? 'no API call was made', 'the reconcile should have asked the API server').to.match(
      /ECONNREFUSED|connect|fetch failed/i,
    );
    expect(events).to.deep.equal([]);
  });
});
