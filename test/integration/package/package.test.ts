// The construct package as a cdk8s user gets it (decision 0152): `npm pack`, then a fresh cdk8s app installs
// the tarball (from the npm cache where it can: --prefer-offline; with its own cdk8s and constructs), type-checks the README's
// example against the shipped declarations, and synthesizes it. The runtime's SDKs must stay out of its tree.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../support/seed-examples.js';

const versionOf = (name: string) =>
  JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string;
const repoPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));

/** The README's "Using the constructs" example, as written there. */
function readmeExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using the constructs'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README.md: no ```ts block under "## Using the constructs"');
  return match[1];
}

const run = (command: string, args: string[], cwd: string) => {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  expect(r.status, `${command} ${args.join(' ')}: ${(r.stdout + r.stderr).slice(-3000)}`).to.equal(0);
  return r.stdout;
};

describe('the construct package (npm pack) in a fresh cdk8s app', function () {
  this.timeout(300_000);
  let dir: string;
  let tarball: string;
  let app: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-package-'));
    // prepack builds lib/ (npm run build:package).
    run('npm', ['pack', '--silent', '--pack-destination', dir], REPO_ROOT);
    tarball = join(
      dir,
      readdirSync(dir).find((f) => /^silo-.*\.tgz$/.test(f))!,
    );
    app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-cdk8s-app', private: true, type: 'module' }, null, 2));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('declares its entry point and types, and ships compiled constructs, declarations, CRDs and schemas only', () => {
    expect(repoPackage.exports['.']).to.deep.equal({ types: './lib/index.d.ts', default: './lib/index.js' });
    expect(repoPackage.types).to.equal('./lib/index.d.ts');
    const files = execFileSync('tar', ['tzf', tarball]).toString().trim().split('\n');
    for (const file of [
      'package/lib/index.js',
      'package/lib/index.d.ts',
      'package/lib/install/operator-install-chart.js',
      'package/lib/generated/crds/clusters.mysql.cloudnative-mysql.io.yaml',
      'package/schemas/mysql.cloudnative-mysql.io/cluster.schema.yaml',
      'package/README.md',
    ]) {
      expect(files, file).to.include(file);
    }
    const strays = files.filter(
      (f) =>
        /^package\/(src|runtime|test|charts|scripts|dist|bench|images|node_modules)\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    expect(strays).to.deep.equal([]);
  });

  it("installs with the app's own cdk8s and constructs, and brings no runtime SDK into the app", () => {
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
        `cdk8s@${versionOf('cdk8s')}`,
        `constructs@${versionOf('constructs')}`,
        `typescript@${versionOf('typescript')}`,
        `@types/node@${versionOf('@types/node')}`,
      ],
      app,
    );
    const installed = readdirSync(join(app, 'node_modules')).flatMap((name) =>
      name.startsWith('@') ? readdirSync(join(app, 'node_modules', name)).map((sub) => `${name}/${sub}`) : [name],
    );
    const runtimeOnly = installed.filter((name) =>
      /^(@aws-sdk|@azure|@google-cloud|@smithy|@kubernetes|@peculiar)\/|^(zstd-napi|prom-client|cron-parser|esbuild|tsx)$/.test(name),
    );
    expect(runtimeOnly).to.deep.equal([]);
    expect(installed).to.include.members(['silo', 'cdk8s', 'constructs', 'cdk8s-plus-28']);
  });

  it("type-checks the README's example against the declarations and synthesizes it: the install bundle and the user's objects", () => {
    writeFileSync(join(app, 'main.ts'), readmeExample());
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out' },
        files: ['main.ts'],
      }),
    );
    run('node', [join(app, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
    run('node', ['out/main.js'], app);
    const parse = (path: string) =>
      parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    const objects = (file: string) => parse(join(app, 'dist', file));
    const install = objects('silo-install.k8s.yaml');
    // Every CRD the repository's own bundle installs, by name: the package ships the same API.
    const crds = (all: Array<{ kind: string; metadata: { name: string } }>) =>
      all.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
    const repoCrds = crds(parse(join(REPO_ROOT, 'dist', 'silo-install.k8s.yaml')));
    expect(repoCrds.length).to.be.greaterThan(0);
    expect(crds(install)).to.have.members(repoCrds);
    const deployment = install.find((o) => o.kind === 'Deployment') as any;
    expect(deployment.spec.template.spec.containers[0].image).to.equal(`ghcr.io/silo-operator/silo:${repoPackage.version}`);
    const databases = objects('databases.k8s.yaml');
    expect(databases.map((o) => `${o.kind}/${o.metadata.name}`)).to.include.members(['Cluster/orders', 'ScheduledBackup/billing-nightly']);
    expect(existsSync(join(app, 'node_modules/silo/lib/index.d.ts'))).to.equal(true);
  });

  it('fails the synth of an invalid object, naming the object, the field and the fix, as the README says', () => {
    writeFileSync(
      join(app, 'bad.mjs'),
      [
        "import { App, Chart } from 'cdk8s';",
        "import { ScheduledBackup } from 'silo';",
        'const app = new App();',
        "const chart = new Chart(app, 'bad', { namespace: 'shop' });",
        "new ScheduledBackup(chart, 'orders-nightly', { schedule: '0 2 * * *', cluster: { name: 'orders' } });",
        'app.synth();',
      ].join('\n'),
    );
    const r = spawnSync('node', ['bad.mjs'], { cwd: app, encoding: 'utf8' });
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/ScheduledBackup "orders-nightly": spec\.schedule: must be a 6-field cron expression with seconds first/);
  });
});
