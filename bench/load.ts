/**
 * `npm run bench:load`: SILO_BENCH_SCHEDULES (default 1000) ScheduledBackups, all
 * due at one slot, against the operator as a process (its ServiceAccount token,
 * the real API server). Prints the start lag of their first slot — from the
 * slot to the operator logging "slot handled" after creating the child Backup —
 * as p50/p99/max, the operator's RSS (peak and at the end) and the machine's
 * load average (the box is shared; the figures mean little without it).
 *
 * What it measures, honestly: the control plane alone. The children name
 * Clusters that do not exist, so the Backup reconciler fails each one at once
 * with ClusterNotFound (a GET, a status patch and an Event per child, competing
 * with the schedules for the API server) and no Job runs; SILO_WORKER_IMAGE is
 * a stand-in (busybox) all the same. 1,000 worker Pods would measure the
 * 2-core box's process kubelet, not the operator. A real Cluster per schedule
 * would add the backup lock and a Pod list per child before NoHealthySource;
 * the start lag (schedule → child created) ends before that work either way.
 * The operator runs the esbuild bundle (`npm run build:runtime`), as an image
 * would: tsx on the sources costs about 150 MiB more RSS.
 * Needs the kube stack component (started if down). SILO_BENCH_CONCURRENCY sets
 * --concurrency; SILO_BENCH_WAIT_SECONDS (default 420) bounds the wait after the
 * slot, so a run ends within 10 minutes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createContext } from '../test/stack/context.js';
import { adminKubeconfig } from '../test/stack/kube/layout.js';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { OPERATOR_NAMESPACE, startOperator } from '../test/support/operator-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const count = Number(process.env.SILO_BENCH_SCHEDULES ?? 1000);
const concurrency = Number(process.env.SILO_BENCH_CONCURRENCY ?? 4);
// SILO_BENCH_FLAGS: extra `silo controller` flags, e.g. --skip-status-only-updates.
const extraFlags = (process.env.SILO_BENCH_FLAGS ?? '').split(' ').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

execFileSync('npm', ['run', '--silent', 'stack', '--', 'up', 'kube'], { cwd: ROOT, stdio: 'inherit' });
const ctx = createContext();
const kc = new KubeConfig();
kc.loadFromFile(adminKubeconfig(ctx));
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const namespace = `bench-load-${randomBytes(3).toString('hex')}`;
await core.createNamespace({ body: { metadata: { name: namespace } } });

const operator = await startOperator({
  watchNamespaces: [namespace],
  args: [`--concurrency=${concurrency}`, ...extraFlags],
  entry: 'build',
  env: { SILO_WORKER_IMAGE: 'busybox:stand-in', SILO_LOG_LEVEL: 'info' },
});
let peakRss = 0;
const rss = async () => {
  const text = await (await fetch(operator.metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  return line ? Number(line.split(' ')[1]) : 0;
};
const sampler = setInterval(() => {
  rss().then(
    (v) => {
      peakRss = Math.max(peakRss, v);
    },
    () => undefined,
  );
}, 1000);

try {
  // One slot for all, far enough ahead that every object exists (and was reconciled once) before it.
  const slot = new Date(Math.ceil((Date.now() + Math.max(60_000, count * 80)) / 1000) * 1000);
  const schedule = `${slot.getUTCSeconds()} ${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`;
  const createStarted = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const i = next++;
        const name = `load-${String(i).padStart(4, '0')}`;
        await custom.createNamespacedCustomObject({
          group: 'mysql.cloudnative-mysql.io',
          version: 'v1alpha1',
          plural: 'scheduledbackups',
          namespace,
          body: {
            apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
            kind: 'ScheduledBackup',
            metadata: { name },
            spec: { schedule, cluster: { name: `absent-${i}` } },
          },
        });
      }
    }),
  );
  const created = Date.now();
  console.log(
    `created ${count} ScheduledBackups in ${((created - createStarted) / 1000).toFixed(1)} s; slot ${slot.toISOString()} (schedule "${schedule}"), ${((slot.getTime() - created) / 1000).toFixed(0)} s ahead`,
  );
  if (created >= slot.getTime()) throw new Error('creating the objects took past the slot; lower SILO_BENCH_SCHEDULES');
  const rssBeforeSlot = await rss();

  const slotIso = slot.toISOString();
  const lags = new Map<string, number>();
  const deadline = slot.getTime() + Number(process.env.SILO_BENCH_WAIT_SECONDS ?? 420) * 1000;
  const loadAtSlot = loadavg();
  while (lags.size < count && Date.now() < deadline) {
    await sleep(2000);
    for (const line of operator.logs().split('\n')) {
      if (!line.includes('"slot handled"')) continue;
      const entry = JSON.parse(line) as { ts: string; slot: string; scheduledBackup: string };
      if (entry.slot === slotIso && !lags.has(entry.scheduledBackup))
        lags.set(entry.scheduledBackup, Date.parse(entry.ts) - slot.getTime());
    }
  }
  const sorted = [...lags.values()].sort((a, b) => a - b);
  const children = (
    (await custom.listNamespacedCustomObject({
      group: 'mysql.cloudnative-mysql.io',
      version: 'v1alpha1',
      plural: 'backups',
      namespace,
      labelSelector: 'mysql.cloudnative-mysql.io/scheduled-backup',
    })) as { items: unknown[] }
  ).items.length;
  const end = await rss();
  // Where the time went: reconciles per controller and their mean duration.
  const metrics = await (await fetch(operator.metricsUrl)).text();
  const sample = (re: RegExp) => Object.fromEntries([...metrics.matchAll(re)].map((m) => [m[1], Number(m[2])]));
  const counts = sample(/^silo_reconcile_duration_seconds_count\{controller="([^"]+)"\} (\S+)$/gm);
  const sums = sample(/^silo_reconcile_duration_seconds_sum\{controller="([^"]+)"\} (\S+)$/gm);
  const perController = Object.keys(counts)
    .filter((c) => counts[c] > 0)
    .map((c) => `${c} ${counts[c]} × ${((sums[c] / counts[c]) * 1000).toFixed(0)} ms`)
    .join(', ');
  console.log(
    [
      `ScheduledBackups that reached their first slot: ${lags.size}/${count} (child Backups: ${children}); operator ${[`--concurrency=${concurrency}`, ...extraFlags].join(' ')}`,
      sorted.length
        ? `start lag: p50 ${(pct(sorted, 50) / 1000).toFixed(2)} s, p99 ${(pct(sorted, 99) / 1000).toFixed(2)} s, max ${(sorted[sorted.length - 1] / 1000).toFixed(2)} s`
        : 'start lag: no slot handled',
      `operator RSS: ${mib(rssBeforeSlot)} before the slot, peak ${mib(Math.max(peakRss, end))}, ${mib(end)} at the end`,
      `reconciles (count × mean duration): ${perController}`,
      `load average (1/5/15 min): ${loadAtSlot.map((l) => l.toFixed(1)).join(' / ')} at the slot, ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} at the end (${cpus().length} cores)`,
    ].join('\n'),
  );
  if (lags.size < count) process.exitCode = 1;
} finally {
  clearInterval(sampler);
  await operator.stop();
  await kc
    .makeApiClient(CoordinationV1Api)
    .deleteNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: operator.leaderElectionId })
    .catch(() => undefined);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
}
