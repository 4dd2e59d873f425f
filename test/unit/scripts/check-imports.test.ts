import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { checkImports, formatViolation } from '../../../scripts/check-imports.js';
import { run } from '../../stack/lib/run.js';

const script = join(import.meta.dirname, '../../../scripts/check-imports.ts');

describe('scripts/check-imports.ts', () => {
  let root: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'silo-check-imports-'));
    // Allowed: the data path may use the object stores, the controller the contracts, anyone a package.
    write(
      'runtime/datapath/pipeline.ts',
      "import { put } from '../objectstore/store.js';\nimport { S3Client } from '@aws-sdk/client-s3';\n",
    );
    write('runtime/objectstore/store.ts', 'export const put = 1;\n');
    write('runtime/controller/job.ts', "import type { WorkerEnv } from '../contracts/worker-env.js';\n");
    write('runtime/contracts/worker-env.ts', 'export type WorkerEnv = {};\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds nothing in a tree whose imports follow the arrows', () => {
    expect(checkImports(root)).to.deep.equal([]);
  });

  it('names file, line and rule for a static import, a re-export, a dynamic import and a type import', () => {
    write('runtime/objectstore/s3.ts', "// the sink\n\nimport { sink } from '../datapath/sinks/sink.js';\n");
    write('runtime/controller/outcome.ts', "export { EXIT } from '../workers/exit-codes.js';\n");
    write('runtime/datapath/source.ts', "const lazy = () => import('../instance-manager/server.js');\n");
    write('src/constructs/x.ts', "import type { Manager } from '../../runtime/controller/manager.js';\n");
    write('runtime/cli.ts', "import { fixture } from '../test/support/fixture.js';\n");
    write(
      'runtime/instance/clone.ts',
      "import { Source } from '../datapath/source.js';\nimport { VAR } from '../instance-manager/vars.js';\n",
    );
    const found = checkImports(root).map((v) => ({ file: v.file, line: v.line, specifier: v.specifier, rule: v.rule.split(' (')[0] }));
    expect(found).to.deep.equal([
      { file: 'runtime/cli.ts', line: 1, specifier: '../test/support/fixture.js', rule: 'runtime/ must not import test/' },
      {
        file: 'runtime/controller/outcome.ts',
        line: 1,
        specifier: '../workers/exit-codes.js',
        rule: 'runtime/controller/ must not import runtime/workers/',
      },
      {
        file: 'runtime/datapath/source.ts',
        line: 1,
        specifier: '../instance-manager/server.js',
        rule: 'runtime/datapath/ must not import runtime/instance-manager/',
      },
      {
        file: 'runtime/instance/clone.ts',
        line: 2,
        specifier: '../instance-manager/vars.js',
        rule: 'runtime/instance/ must not import runtime/instance-manager/',
      },
      {
        file: 'runtime/objectstore/s3.ts',
        line: 3,
        specifier: '../datapath/sinks/sink.js',
        rule: 'runtime/objectstore/ must not import runtime/datapath/',
      },
      { file: 'src/constructs/x.ts', line: 1, specifier: '../../runtime/controller/manager.js', rule: 'src/ must not import runtime/' },
    ]);
    expect(formatViolation(checkImports(root)[0])).to.match(
      /^runtime\/cli\.ts:1: runtime\/ must not import test\/ \(.+\): imports '\.\.\/test\/support\/fixture\.js'$/,
    );
  });

  it('exits non-zero from the command line when a forbidden import comes back', async function () {
    this.timeout(60_000); // a child Node with tsx: seconds on a loaded machine
    write('runtime/instance-manager/main.ts', "import { EXIT } from '../workers/exit-codes.js';\n");
    const bad = await run(process.execPath, ['--import', 'tsx', script, root], { allowFailure: true });
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain('runtime/instance-manager/main.ts:1: runtime/instance-manager/ must not import runtime/workers/');
  });
});
