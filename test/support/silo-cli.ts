import { spawn, type ChildProcess } from 'node:child_process';
import { siloLauncherSync } from '../stack/kubelet/silo-bundle.js';

export interface SiloRun {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs `silo <args>` as a Job would: the image's launcher and bundle, built from the sources as they are now
 * (decision 0105), in a fresh process whose whole configuration is `env` (plus PATH and HOME), not this test
 * process's environment.
 */
export function runSilo(args: string[], env: Record<string, string>): Promise<SiloRun> {
  return startSilo(args, env).done;
}

/**
 * Starts `silo <args>` like runSilo, in its own process group (a test can kill it and its children
 * at once, as Kubernetes kills a container), and returns the process with its outcome.
 */
export function startSilo(
  args: string[],
  env: Record<string, string>,
  options: { detached?: boolean } = {},
): { child: ChildProcess; done: Promise<SiloRun> } {
  const started = Date.now();
  let child!: ChildProcess;
  const done = new Promise<SiloRun>((resolve) => {
    // The launcher execs node: the child's pid is node's, as a test that signals it expects.
    child = spawn(siloLauncherSync(), args, {
      detached: options.detached ?? false,
      env: {
        PATH: process.env.PATH!,
        HOME: process.env.HOME!,
        SILO_TERMINATION_LOG: '/nonexistent',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => {
      stdout += c;
    });
    child.stderr!.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
  return { child, done };
}

/** The JSON result line a worker prints last on stdout. */
export const lastJson = (text: string) => JSON.parse(text.trim().split('\n').pop()!);
