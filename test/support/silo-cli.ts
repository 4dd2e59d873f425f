import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const CLI = resolve(import.meta.dirname, '../../runtime/cli.ts');

export interface SiloRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs `silo <args>` as a Job would: a fresh process whose whole configuration
 * is `env` (plus PATH and HOME), not this test process's environment.
 */
export function runSilo(args: string[], env: Record<string, string>): Promise<SiloRun> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
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
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => done({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

/** The JSON result line a worker prints last on stdout. */
export const lastJson = (text: string) => JSON.parse(text.trim().split('\n').pop()!);
