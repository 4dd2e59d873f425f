import { execFileSync } from 'node:child_process';
import type { Component } from '../component.js';
import { aptInstallIfMissing } from '../lib/apt.js';

/**
 * Reference CLIs for interop checks and benchmarks (the `age`, `zstd` and
 * `mbstream` that people would use by hand, and GNU time for peak RSS). `zstd` is also
 * the command the instance manager compresses with when it is installed (decision 0017).
 * No server: `up` only checks they are on PATH.
 */
const PACKAGES = ['age', 'zstd', 'mariadb-backup', 'time', 'openssl'];
const BINARIES = ['age', 'age-keygen', 'zstd', 'mbstream', '/usr/bin/time', 'openssl'];

const present = (binary: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export const tools: Component = {
  name: 'tools',
  async install(ctx) {
    await aptInstallIfMissing(ctx, PACKAGES);
  },
  async up() {
    const missing = BINARIES.filter((b) => !present(b));
    if (missing.length) throw new Error(`reference tools missing after install: ${missing.join(', ')}`);
  },
  async down() {},
  async status() {
    return BINARIES.every(present);
  },
  env() {
    return {};
  },
};
