/**
 * What an instance's /status means for the Cluster: serving (in the read-only Service and a backup
 * source) or not, and why. Pure: the reconciler feeds it what the instance managers answered.
 */
import type { InstanceRole } from '../../../contracts/instance-pod.js';
import type { InstanceManagerStatus } from './instance-manager-client.js';

export interface InstanceObservation {
  readonly name: string;
  readonly role: InstanceRole;
  readonly podReady: boolean;
  readonly podIP?: string;
  readonly status?: InstanceManagerStatus;
  /** Why /status could not be read. */
  readonly statusError?: string;
}

export interface InstanceHealth {
  readonly name: string;
  readonly role: InstanceRole;
  readonly ready: boolean;
  readonly podIP?: string;
  readonly serverId?: number;
  readonly gtidPosition?: string;
  readonly replicationLagSeconds?: number;
  readonly serving: boolean;
  readonly reason?: 'InstanceNotReady' | 'StatusUnavailable' | 'ReplicationStopped' | 'ErrantTransactions' | 'NotReplicating';
  readonly message?: string;
}

interface Gtid {
  readonly domain: number;
  readonly serverId: number;
  readonly seq: number;
}

/** "0-1-100,1-2-5" → GTIDs; MariaDB's positions hold the last GTID per domain (and server id). */
export function parseGtidList(list: string | undefined): Gtid[] {
  if (!list) return [];
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => s.split('-').map(Number))
    .filter((p) => p.length === 3 && p.every(Number.isFinite))
    .map(([domain, serverId, seq]) => ({ domain, serverId, seq }));
}

/**
 * GTIDs a replica holds that the primary never wrote: events of the replica's own server id in its
 * binlog (written while it was not following anyone, or with sql_log_bin on), or a sequence number
 * beyond the primary's in a domain. Returns them as text, or undefined.
 */
export function errantGtids(replica: InstanceManagerStatus, primary: InstanceManagerStatus | undefined): string | undefined {
  const own = parseGtidList(replica.gtidBinlogPos).filter((g) => replica.serverId !== undefined && g.serverId === replica.serverId);
  const primaryPos = new Map(parseGtidList(primary?.gtidBinlogPos).map((g) => [g.domain, g.seq]));
  const ahead = primary?.gtidBinlogPos
    ? parseGtidList(replica.gtidCurrentPos ?? replica.gtidBinlogPos).filter((g) => g.seq > (primaryPos.get(g.domain) ?? 0))
    : [];
  const errant = [...own, ...ahead];
  if (!errant.length) return undefined;
  return [...new Set(errant.map((g) => `${g.domain}-${g.serverId}-${g.seq}`))].join(',');
}

function replicaHealth(o: InstanceObservation, status: InstanceManagerStatus, primary: InstanceManagerStatus | undefined) {
  const replication = status.replication;
  if (!replication) return { reason: 'NotReplicating' as const, message: `${o.name} has no replication configured` };
  if (!replication.sqlRunning || !replication.ioRunning) {
    const thread = !replication.sqlRunning ? 'SQL' : 'IO';
    const error = replication.lastError ? `: ${replication.lastError}` : ' (stopped without an error)';
    return { reason: 'ReplicationStopped' as const, message: `${o.name}'s replication ${thread} thread is stopped${error}` };
  }
  const errant = errantGtids(status, primary);
  if (errant)
    return {
      reason: 'ErrantTransactions' as const,
      message: `${o.name} holds GTIDs the primary never wrote (${errant}); delete its Pod and PVC to clone it again`,
    };
  return undefined;
}

export function assessInstance(o: InstanceObservation, primary: InstanceManagerStatus | undefined): InstanceHealth {
  const base = {
    name: o.name,
    role: o.role,
    ready: o.podReady,
    podIP: o.podIP,
    serverId: o.status?.serverId,
    gtidPosition: o.status?.gtidCurrentPos ?? o.status?.gtidBinlogPos,
    ...(o.status?.replication?.secondsBehindMaster != null ? { replicationLagSeconds: o.status.replication.secondsBehindMaster } : {}),
  };
  if (!o.podReady) return { ...base, serving: false, reason: 'InstanceNotReady', message: `${o.name} is not Ready` };
  if (!o.status)
    return {
      ...base,
      serving: false,
      reason: 'StatusUnavailable',
      message: `${o.name}'s instance manager: ${o.statusError ?? 'no answer'}`,
    };
  if (o.role === 'primary') return { ...base, serving: true };
  const problem = replicaHealth(o, o.status, primary);
  return problem ? { ...base, serving: false, ...problem } : { ...base, serving: true };
}
