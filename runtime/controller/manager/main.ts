/**
 * `silo controller`: the operator process. Informers and probes start at once
 * on every replica; reconcilers run only on the Lease holder (or always with
 * leader election off). Losing the Lease aborts in-flight reconciles and exits
 * 1 so Kubernetes restarts the pod as a fresh candidate; SIGTERM drains
 * in-flight reconciles (bounded), releases the Lease and exits 0.
 */
import type { Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from '../kube/reused-connections.js';
import { createLogger, logNodeWarnings, type Logger } from '../../logging/logger.js';
import { allReconcilers } from '../registry.js';
import type { Reconciler } from '../reconciler.js';
import { startHealthServer, startMetricsServer } from './endpoints.js';
import { KubeEventRecorder } from './event-recorder.js';
import { parseControllerFlags, type ControllerFlags } from './flags.js';
import { LeaderElector } from './leader-election.js';
import { Manager } from './manager.js';
import { OperatorMetrics } from './metrics.js';

export async function runController(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  reconcilers: Reconciler[] = allReconcilers(),
): Promise<void> {
  const flags = parseControllerFlags(argv, env);
  const log = createLogger({ component: 'controller', pod: flags.identity }, { level: flags.logLevel });
  logNodeWarnings(log);
  const kubeConfig = reuseConnections(new KubeConfig());
  kubeConfig.loadFromDefault();
  const metrics = new OperatorMetrics();
  const events = new KubeEventRecorder(kubeConfig, log.child({ component: 'events' }), { instance: flags.identity });
  const manager = new Manager({
    kubeConfig,
    reconcilers,
    settings: flags.settings,
    metrics,
    events,
    log,
    watchNamespaces: flags.watchNamespaces,
    resyncMs: flags.resyncMs,
    queue: { concurrency: flags.concurrency },
    skipStatusOnlyUpdates: flags.skipStatusOnlyUpdates,
    clusterScopedSelector: flags.clusterScopedSelector,
  });
  manager.startInformers();
  const health = await startHealthServer(manager, flags.healthPort, flags.bindAddress);
  const metricsServer = await startMetricsServer(
    metrics.registry,
    () => {
      for (const { controller, depth } of manager.depths()) metrics.queueDepth.set({ controller }, depth);
    },
    flags.metricsPort,
    flags.bindAddress,
  );
  log.info('operator started', {
    reconcilers: reconcilers.map((r) => r.name),
    informers: [...manager.informers.keys()],
    watchNamespaces: flags.watchNamespaces,
    healthPort: health.port,
    metricsPort: metricsServer.port,
    bindAddress: flags.bindAddress,
    leaderElection: flags.leaderElect ? `${flags.leaderElectionNamespace}/${flags.leaderElectionId}` : 'off',
    workerImage: flags.settings.workerImage,
  });

  const operator: Operator = { flags, log, kubeConfig, manager, metrics };
  stopOnSignals(operator, leadOrElect(operator), [health.server, metricsServer.server]);
}

/** What the operator process runs on, for its leadership and shutdown steps. */
interface Operator {
  readonly flags: ControllerFlags;
  readonly log: Logger;
  readonly kubeConfig: KubeConfig;
  readonly manager: Manager;
  readonly metrics: OperatorMetrics;
}

/** Reconciles at once with leader election off; else campaigns for the Lease and reconciles while holding it. */
function leadOrElect({ flags, log, kubeConfig, manager, metrics }: Operator): LeaderElector | undefined {
  const lead = () => {
    metrics.leader.set(1);
    manager.startReconciling();
  };
  if (!flags.leaderElect) {
    lead();
    return undefined;
  }
  metrics.leader.set(0);
  const elector = new LeaderElector(kubeConfig, {
    namespace: flags.leaderElectionNamespace,
    name: flags.leaderElectionId,
    identity: flags.identity,
    log: log.child({ component: 'leader-election' }),
    onStartedLeading: lead,
    onStoppedLeading: (why) => {
      metrics.leader.set(0);
      // Another replica may already be reconciling: abort at once, never drain.
      void manager.stopReconciling({ abortInFlight: true, drainMs: 2000 }).finally(() => {
        log.error('exiting after losing leadership', { why });
        process.exit(1);
      });
    },
  });
  elector.start();
  return elector;
}

/** SIGTERM and SIGINT drain in-flight reconciles (bounded), release the Lease, close the servers and exit 0. */
function stopOnSignals({ flags, log, manager, metrics }: Operator, elector: LeaderElector | undefined, servers: Server[]): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    elector?.stop();
    const drained = await manager.stopReconciling({ abortInFlight: false, drainMs: flags.shutdownGraceMs });
    if (!drained)
      log.warn('in-flight reconciles did not finish within the grace period; they were aborted', { graceMs: flags.shutdownGraceMs });
    await elector?.release();
    metrics.leader.set(0);
    manager.stopInformers();
    for (const server of servers) server.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
