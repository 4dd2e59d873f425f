/**
 * startOperator: runs `silo controller` as a local process against the stack's
 * real API server, authenticated with the operator ServiceAccount's own token,
 * so it has exactly the permissions of the synthesized ClusterRole and Role.
 *
 * The CRDs, namespace, ServiceAccount and RBAC come from
 * dist/silo-install.k8s.yaml (applied once per test process with the built
 * kubectl); the bundle's Deployment and Service are not applied — the process
 * here stands in for the Deployment's pod.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { ApiextensionsV1Api, KubeConfig } from '@kubernetes/client-node';
import { createContext } from '../stack/context.js';
import { adminKubeconfig, apiserverUrl, kubeDir, pkiDir, repoRoot } from '../stack/kube/layout.js';
import { writeKubeconfig } from '../stack/kube/pki.js';
import { kubeconfigForServiceAccount } from '../stack/kube/service-account.js';
import { siloLauncher } from '../stack/kubelet/silo-bundle.js';
import { installOrder, kubectlApply, splitDist } from '../integration/kube/manifests.js';

export const OPERATOR_NAMESPACE = 'silo-system';
export const OPERATOR_SERVICE_ACCOUNT = 'silo-operator';

export interface StartOperatorOptions {
  /** --watch-namespace; default: all namespaces (give each test file its own list). */
  watchNamespaces?: string[];
  /** --leader-election-id; default: a random one, so this operator competes with nobody. */
  leaderElectionId?: string;
  /** --identity (the Lease holder name); default: operator-<random>. */
  identity?: string;
  /** Extra environment, e.g. SILO_WORKER_IMAGE or SILO_LOG_LEVEL. */
  env?: Record<string, string>;
  /** Extra `silo controller` flags. */
  args?: string[];
  /** A kubeconfig of another identity (e.g. a test ServiceAccount); default: the operator ServiceAccount's token. */
  kubeconfig?: string;
  /** --leader-election-namespace; default silo-system (where the bundle's Role allows Leases). */
  leaderElectionNamespace?: string;
  /**
   * --cluster-scoped-selector: only BackupStorages (cluster-scoped) with these labels are
   * watched, so operators of different test files do not reconcile each other's storages.
   */
  clusterScopedSelector?: string;
  /**
   * What runs `silo controller`. Default `image`: the image's bundle built from the sources as they are now,
   * the same build the process kubelet's containers run (a start costs about 0.3 CPU-s, against 2.2 under
   * tsx, and a run starts dozens). `build`: build/silo-cli.mjs (`npm run build:runtime`). `sources`: tsx.
   */
  entry?: 'image' | 'build' | 'sources';
}

export interface OperatorProcess {
  pid: number;
  identity: string;
  leaderElectionId: string;
  /** http://127.0.0.1:<port>/healthz */
  healthUrl: string;
  /** http://127.0.0.1:<port>/readyz */
  readyUrl: string;
  /** http://127.0.0.1:<port>/metrics */
  metricsUrl: string;
  /** Everything the process wrote (JSON log lines), so far. */
  logs(): string;
  /** Where the logs are also written. */
  logFile: string;
  /** Exit code (or null after a signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM; resolves when the process has exited (SIGKILL after 40 s). */
  stop(): Promise<void>;
  /** SIGKILL; resolves when the process has exited. */
  kill(): Promise<void>;
}

const ctx = createContext({ quiet: true });
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

let installed: Promise<string> | undefined;

/** Applies CRDs + namespace + ServiceAccount + RBAC once; returns a kubeconfig path for the operator's token. */
export function installOperatorPrerequisites(): Promise<string> {
  installed ??= (async () => {
    const { bundle } = splitDist();
    const objects = installOrder(bundle.filter((o) => o.kind !== 'Deployment' && o.kind !== 'Service'));
    for (const obj of objects) kubectlApply(ctx, obj, 'apply');
    const admin = new KubeConfig();
    admin.loadFromFile(adminKubeconfig(ctx));
    const ext = admin.makeApiClient(ApiextensionsV1Api);
    for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
      await until(
        `CRD ${crd.metadata!.name} Established`,
        async () => {
          const live = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
          return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
        },
        30_000,
      );
    }
    const sa = await kubeconfigForServiceAccount(ctx, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, 6 * 3600);
    // A file of our own: other test processes rewrite the shared one with their tokens.
    const dir = join(kubeDir(ctx), 'sa');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `operator-${process.pid}-${randomBytes(3).toString('hex')}.kubeconfig`);
    writeKubeconfig(
      path,
      apiserverUrl,
      join(pkiDir(ctx), 'ca.crt'),
      { name: `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SERVICE_ACCOUNT}`, token: sa.token },
      OPERATOR_NAMESPACE,
    );
    return path;
  })();
  installed.catch(() => {
    installed = undefined;
  });
  return installed;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts one operator process and resolves once /healthz answers 200. A port
 * chosen free can be taken by another process before the operator binds it
 * (the stack and other tests open ports too), so a start that fails with
 * EADDRINUSE is retried on fresh ports.
 */
export async function startOperator(opts: StartOperatorOptions = {}): Promise<OperatorProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOperatorOnce(opts);
    } catch (error) {
      if (attempt >= 3 || !String((error as Error).message).includes('EADDRINUSE')) throw error;
    }
  }
}

/** Two distinct ports nothing listens on right now. */
async function twoFreePorts(): Promise<[number, number]> {
  const first = await freePort();
  for (;;) {
    const second = await freePort();
    if (second !== first) return [first, second];
  }
}

async function startOperatorOnce(opts: StartOperatorOptions): Promise<OperatorProcess> {
  const saKubeconfig = await installOperatorPrerequisites();
  const kubeconfig = opts.kubeconfig ?? saKubeconfig;
  const suffix = randomBytes(3).toString('hex');
  const identity = opts.identity ?? `operator-${suffix}`;
  const leaderElectionId = opts.leaderElectionId ?? `silo-test-${suffix}`;
  const [healthPort, metricsPort] = await twoFreePorts();
  const args = controllerArgs(opts, await entryArgs(opts.entry ?? 'image'), { identity, leaderElectionId, healthPort, metricsPort });
  const logDir = join(ctx.logDir, 'operators');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${identity}.log`);
  const file = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      KUBECONFIG: kubeconfig,
      POD_NAMESPACE: OPERATOR_NAMESPACE,
      POD_NAME: identity,
      ...(process.env.SILO_WORKER_IMAGE ? { SILO_WORKER_IMAGE: process.env.SILO_WORKER_IMAGE } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    file.write(chunk);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  // Ends the log file only after the last output has arrived.
  child.on('close', () => file.end());
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => {
    gone = e;
  });

  const base = 'http://127.0.0.1';
  const healthUrl = `${base}:${healthPort}/healthz`;
  const operator: OperatorProcess = {
    pid: child.pid!,
    identity,
    leaderElectionId,
    healthUrl,
    readyUrl: `${base}:${healthPort}/readyz`,
    metricsUrl: `${base}:${metricsPort}/metrics`,
    logs: () => output,
    logFile,
    exited,
    async stop() {
      if (!gone) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
  await untilHealthy(operator, () => gone);
  return operator;
}

/** Node's arguments that run the CLI: a bundle's entry file, or the sources under tsx. */
async function entryArgs(entry: NonNullable<StartOperatorOptions['entry']>): Promise<string[]> {
  if (entry === 'sources') return ['--import', 'tsx', join(repoRoot, 'runtime', 'cli.ts')];
  if (entry === 'build') return [join(repoRoot, 'build', 'silo-cli.mjs')];
  return [join(dirname(await siloLauncher()), 'silo-cli.mjs')];
}

/** Node's arguments for one `silo controller` process: the entry (source or bundle) and the controller's flags. */
function controllerArgs(
  opts: StartOperatorOptions,
  entry: string[],
  instance: { identity: string; leaderElectionId: string; healthPort: number; metricsPort: number },
): string[] {
  return [
    ...entry,
    'controller',
    '--leader-elect',
    `--leader-election-id=${instance.leaderElectionId}`,
    `--leader-election-namespace=${opts.leaderElectionNamespace ?? OPERATOR_NAMESPACE}`,
    `--identity=${instance.identity}`,
    `--health-port=${instance.healthPort}`,
    `--metrics-port=${instance.metricsPort}`,
    '--bind-address=127.0.0.1',
    ...(opts.watchNamespaces?.length ? [`--watch-namespace=${opts.watchNamespaces.join(',')}`] : []),
    ...(opts.clusterScopedSelector ? [`--cluster-scoped-selector=${opts.clusterScopedSelector}`] : []),
    ...(opts.args ?? []),
  ];
}

/**
 * The line the controller logs once its health and metrics servers listen (runtime/controller/manager/main.ts). A 200
 * from /healthz alone can come from another test file's operator: a port found free can be taken by that one first,
 * and this process then fails with EADDRINUSE while the other answers on the port (a CI run waited 120 s on an operator
 * that had exited that way). The line says both ports are this process's own. Logged at info, which every test's
 * operator runs at or below.
 */
const LISTENING_LINE = '"msg":"operator started"';

/** Polls /healthz until it answers 200 and this process says it listens; fails when it exits first or after 60 s (then kills it). */
async function untilHealthy(
  operator: OperatorProcess,
  gone: () => { code: number | null; signal: NodeJS.Signals | null } | undefined,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const exit = gone();
    if (exit)
      throw new Error(
        `operator ${operator.identity} exited (code ${exit.code}, signal ${exit.signal}) before /healthz answered:\n${operator.logs().slice(-3000)}`,
      );
    const status = await fetch(operator.healthUrl).then(
      (r) => r.status,
      () => 0,
    );
    const listening = operator.logs().includes(LISTENING_LINE);
    if (status === 200 && listening) return;
    if (Date.now() > deadline) {
      await operator.kill();
      throw new Error(
        `operator ${operator.identity}: /healthz did not answer 200 within 60 s (last status ${status}${listening ? '' : ', and no "operator started" line from this process'})\n--- log tail ---\n${operator.logs().slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
