import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const CLI = resolve(import.meta.dirname, '../../runtime/cli.ts');

export interface SiloRun {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs `silo <args>` as a Job would: a fresh process whose whole configuration
 * is `env` (plus PATH and HOME), not this test process's environment.
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
    child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
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
