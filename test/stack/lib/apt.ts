import { existsSync, rmSync, writeFileSync } from 'node:fs';
import type { StackContext } from '../component.js';
import { run } from './run.js';

let updatedThisProcess = false;

/** Installed Debian version of a package, or undefined when it is not installed. */
export async function debVersion(pkg: string): Promise<string | undefined> {
  const r = await run('dpkg-query', ['-W', '-f=${db:Status-Status} ${Version}', pkg], { allowFailure: true });
  const [status, version] = r.stdout.trim().split(' ');
  return r.code === 0 && status === 'installed' ? version : undefined;
}

/** "1:10.11.19-0+deb12u1" → "10.11.19-0+deb12u1": drop the epoch before comparing with a pin. */
function upstream(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '');
}

/** True when `version` is the pin itself or a later patch of it ("10.11" accepts "10.11.19-…"). */
export function matchesPin(debianVersion: string, pin: string): boolean {
  const v = upstream(debianVersion);
  return v === pin || (/^[.+~-]/.test(v.slice(pin.length)) && v.startsWith(pin));
}

/**
 * Installs the Debian packages that are missing, then checks that `pins`
 * (package → version prefix from versions.json) hold. Debian's archive keeps
 * only the latest point release, so we pin the upstream series and fail loudly
 * on drift instead of pinning an exact string that security updates remove.
 */
export async function aptInstallIfMissing(ctx: StackContext, packages: string[], pins: Record<string, string> = {}): Promise<void> {
  const missing: string[] = [];
  for (const p of packages) if (!(await debVersion(p))) missing.push(p);
  if (missing.length) {
    if (process.getuid?.() !== 0) {
      throw new Error(`Debian packages missing: ${missing.join(' ')}; run as root or: sudo apt-get install -y ${missing.join(' ')}`);
    }
    ctx.log(`apt-get install ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const lock = ['-o', 'DPkg::Lock::Timeout=600'];
    if (!updatedThisProcess) {
      await run('apt-get', [...lock, 'update', '-q'], { env });
      updatedThisProcess = true;
    }
    // Without a policy-rc.d, postinst scripts start e.g. mariadb on 0.0.0.0:3306.
    // Only add (and later remove) it when the machine has none of its own.
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !existsSync(policy);
    if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    try {
      await run('apt-get', [...lock, 'install', '-y', '-q', '--no-install-recommends', ...missing], { env });
    } finally {
      if (ownPolicy) rmSync(policy, { force: true });
    }
  }
  for (const [pkg, pin] of Object.entries(pins)) {
    const v = await debVersion(pkg);
    if (!v || !matchesPin(v, pin)) {
      throw new Error(`${pkg} is ${v ?? 'not installed'}, but test/stack/versions.json pins ${pin}`);
    }
  }
}
