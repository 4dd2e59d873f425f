/**
 * Installs what the kube component needs: Debian's etcd (apt) and
 * kube-apiserver, kube-controller-manager and kubectl built from the module
 * k8s.io/kubernetes through the Go module proxy (go.mod next to this file).
 * Binaries are cached in <cacheDir>/kube-v<version>/, so only the first run builds.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackContext } from '../component.js';
import { binDir, etcdVersion, kubeBinary, kubernetesVersion } from './layout.js';
import { isAlive } from './processes.js';

const goModuleDir = dirname(fileURLToPath(import.meta.url));
const commands = ['kube-apiserver', 'kube-controller-manager', 'kubectl'] as const;

export function dpkgInstalled(pkg: string): boolean {
  return spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status === 0;
}

/** apt-get install -y the packages that dpkg does not know yet (waits for another apt's lock). */
export function aptInstall(ctx: StackContext, packages: string[]): void {
  const missing = packages.filter((p) => !dpkgInstalled(p));
  if (missing.length === 0) return;
  ctx.log(`apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=900'];
  // A fresh machine may have empty package lists; update once if the install fails.
  const install = () =>
    spawnSync('apt-get', [...lock, 'install', '-y', '-q', '--no-install-recommends', ...missing], { env, stdio: 'inherit' });
  if (install().status !== 0) {
    execFileSync('apt-get', [...lock, 'update', '-q'], { env, stdio: 'inherit' });
    if (install().status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed`);
  }
}

function checkEtcdVersion(): void {
  const out = execFileSync('etcd', ['--version'], { encoding: 'utf8' });
  if (!out.includes(`etcd Version: ${etcdVersion}`)) {
    throw new Error(`expected Debian etcd ${etcdVersion} (test/stack/versions.json), got:\n${out}`);
  }
}

export function kubeBinariesPresent(ctx: StackContext): boolean {
  return commands.every((c) => existsSync(kubeBinary(ctx, c)));
}

export async function installKube(ctx: StackContext): Promise<void> {
  aptInstall(ctx, ['etcd-server', 'openssl', 'util-linux']);
  checkEtcdVersion();
  if (kubeBinariesPresent(ctx)) return;
  await withBuildLock(ctx, () => {
    if (!kubeBinariesPresent(ctx)) buildKubeBinaries(ctx);
  });
}

/**
 * Two test runs (or agents) on one machine must not build into the same
 * directory at once: the second waits for the first, then finds the cache warm.
 */
async function withBuildLock(ctx: StackContext, build: () => void): Promise<void> {
  const lock = `${binDir(ctx)}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        /* being created */
      }
      if (holder > 0 && !isAlive(holder)) {
        rmSync(lock, { recursive: true, force: true }); // stale: its builder died
        continue;
      }
      ctx.log(`waiting for the Kubernetes build of process ${holder || '?'} (${lock})`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
  try {
    build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * One `go build` for all three commands so the shared packages compile once.
 * Output goes to a .partial dir that is renamed when complete, so an
 * interrupted build never looks cached.
 */
export function buildKubeBinaries(ctx: StackContext): void {
  const out = binDir(ctx);
  const partial = `${out}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const [major, minor] = kubernetesVersion.split('.');
  const v = 'k8s.io/component-base/version';
  const ldflags = [
    '-s',
    '-w',
    `-X ${v}.gitVersion=v${kubernetesVersion}`,
    `-X ${v}.gitMajor=${major}`,
    `-X ${v}.gitMinor=${minor}`,
    `-X ${v}.gitTreeState=clean`,
  ].join(' ');
  const started = Date.now();
  ctx.log(`building Kubernetes v${kubernetesVersion} (${commands.join(', ')}); a cold build takes several minutes`);
  const result = spawnSync(
    'go',
    ['build', '-trimpath', '-ldflags', ldflags, '-o', `${partial}/`, ...commands.map((c) => `k8s.io/kubernetes/cmd/${c}`)],
    {
      cwd: goModuleDir,
      stdio: 'inherit',
      // -mod=mod: go.sum is committed, but let go fill in anything a fresh cache lacks.
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    },
  );
  if (result.error)
    throw new Error(`cannot run go (${result.error.message}); Go 1.22+ with the module proxy is needed to build Kubernetes`);
  if (result.status !== 0)
    throw new Error(`go build of Kubernetes v${kubernetesVersion} failed (exit ${result.status}); see the output above`);
  rmSync(out, { recursive: true, force: true });
  renameSync(partial, out);
  ctx.log(`built Kubernetes in ${Math.round((Date.now() - started) / 1000)} s into ${out}`);
}

export function kubectlPath(ctx: StackContext): string {
  return join(binDir(ctx), 'kubectl');
}
