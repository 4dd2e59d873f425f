/**
 * Run after `npm ci` (.ci/run). zstd-napi's install downloads a published binary through prebuild-install and,
 * when it cannot (no route to github.com on these machines), compiles zstd's C sources: about 23 s of a CI run on
 * two cores. This packs the module that build made into prebuild-install's own download cache (the npm cache's
 * `_prebuilds`), under the name that download would have had, so the next `npm ci` on this machine unpacks it in
 * well under a second. The binary is this machine's own build for this Node-API version, platform and arch: the
 * same cache key prebuild-install uses (decision 0241).
 *
 *   npx tsx scripts/cache-native-builds.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(repoRoot, 'package.json'));

interface NativePackage {
  readonly name: string;
  /** The built module, relative to the package (what a prebuilt tarball holds). */
  readonly built: string;
}

const PACKAGES: readonly NativePackage[] = [{ name: 'zstd-napi', built: 'build/Release/binding.node' }];

/** Where prebuild-install looks before it downloads `-r napi` for this package (prebuild-install/util.js). */
function cachedPrebuildPath(packageDir: string): string {
  const util = require('prebuild-install/util') as {
    getDownloadUrl(opts: object): string;
    cachedPrebuild(url: string): string;
  };
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { binary?: { napi_versions?: number[] } };
  const supported = Number(process.versions.napi);
  const napiVersion = Math.max(...(pkg.binary?.napi_versions ?? []).filter((v) => v <= supported));
  if (!Number.isFinite(napiVersion))
    throw new Error(`${packageDir}: no Node-API version in binary.napi_versions that Node ${process.version} supports`);
  const url = util.getDownloadUrl({
    pkg,
    runtime: 'napi',
    abi: String(napiVersion),
    platform: process.platform,
    arch: process.arch,
    libc: '',
    'tag-prefix': 'v',
  });
  return util.cachedPrebuild(url);
}

for (const { name, built } of PACKAGES) {
  const packageDir = join(repoRoot, 'node_modules', name);
  if (!existsSync(join(packageDir, built))) throw new Error(`${name}: ${built} is missing; run npm ci first`);
  const cached = cachedPrebuildPath(packageDir);
  if (existsSync(cached)) continue;
  mkdirSync(dirname(cached), { recursive: true });
  const partial = `${cached}.${process.pid}.tmp`;
  execFileSync('tar', ['-czf', partial, '-C', packageDir, built]);
  renameSync(partial, cached);
  console.log(`cache-native-builds: ${name} → ${cached}`);
}
