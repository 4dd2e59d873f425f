/**
 * The `kubelet` component: the process kubelet (test/stack/kubelet) as its
 * own long-running process, registered as Node `process-kubelet`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Component, StackContext } from '../component.js';
import { adminKubeconfig, repoRoot } from '../kube/layout.js';
import { aptInstall } from '../kube/install.js';
import { isAlive, logFile, readPid, startDetached, stopByPidFile, waitUntil } from '../kube/processes.js';
import { DEFAULT_NODE_NAME } from '../kubelet/kubelet.js';

export const kubeletStateDir = (ctx: StackContext) => join(ctx.root, 'kubelet');
const pidFile = (ctx: StackContext) => join(kubeletStateDir(ctx), 'kubelet.pid');

export const kubelet: Component = {
  name: 'kubelet',
  dependsOn: ['kube'],

  async install(ctx) {
    // Images in test/stack/kubelet/images.ts map to these Debian binaries.
    aptInstall(ctx, ['util-linux', 'mariadb-server', 'mariadb-client', 'mariadb-backup', 'postgresql-15', 'postgresql-client-15']);
  },

  async up(ctx) {
    if (await kubelet.status(ctx)) return;
    await kubelet.down(ctx);
    const log = logFile(ctx, 'kubelet');
    const offset = existsSync(log) ? statSync(log).size : 0; // the log is appended across runs
    const pid = startDetached(ctx, {
      name: 'kubelet',
      command: process.execPath,
      args: ['--import', 'tsx', join(repoRoot, 'test', 'stack', 'kubelet', 'main.ts')],
      cwd: repoRoot,
      env: {
        ...process.env,
        KUBECONFIG: adminKubeconfig(ctx),
        SILO_KUBELET_STATE: kubeletStateDir(ctx),
        SILO_KUBELET_LOGS: ctx.logDir,
        SILO_KUBELET_NODE_NAME: DEFAULT_NODE_NAME,
      },
      pidFile: pidFile(ctx),
    });
    await waitUntil(
      'process kubelet',
      async () => existsSync(log) && readFileSync(log, 'utf8').slice(offset).includes(`ready as node ${DEFAULT_NODE_NAME}`),
      { timeoutMs: 60_000, pid, log },
    );
  },

  async down(ctx) {
    await stopByPidFile(pidFile(ctx), 15_000);
  },

  async status(ctx) {
    const pid = readPid(pidFile(ctx));
    if (pid === undefined || !isAlive(pid)) return false;
    // The kubelet runs Silo's images from the checkout it was started in: one left running by another checkout
    // (a worktree beside this one) would run that checkout's code in this run's Pods, so it counts as down here.
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .split('\0')
        .includes(join(repoRoot, 'test', 'stack', 'kubelet', 'main.ts'));
    } catch {
      return true;
    }
  },

  env(ctx) {
    return { SILO_KUBELET_NODE: DEFAULT_NODE_NAME, SILO_KUBELET_LOGS: join(ctx.logDir, 'pods') };
  },
};
