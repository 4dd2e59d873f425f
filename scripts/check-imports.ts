/**
 * `npm run check:imports`: fails when an import runs the wrong way between the
 * repository's rooms. Every relative module specifier counts — `import`,
 * `import type`, `export … from`, dynamic `import()` and `require()` — as
 * TypeScript's own pre-processor finds them (`ts.preProcessFile`), so a
 * forbidden dependency cannot hide in a lazy load or a re-export.
 *
 *   npx tsx scripts/check-imports.ts [root]     # root defaults to this repository
 *
 * Prints `file:line: rule: imports 'specifier'` for each violation and exits 1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface ImportRule {
  /** Files whose repository-relative path starts with this folder … */
  from: string;
  /** … may not import anything under these folders. */
  forbidden: string[];
  /** Why, in a few words, printed with each violation. */
  why: string;
}

/** The arrows of issue 12's "rooms that match the arrows", plus the obvious outer ones. */
export const IMPORT_RULES: ImportRule[] = [
  { from: 'runtime/objectstore/', forbidden: ['runtime/datapath/'], why: 'object stores know nothing of the data path' },
  {
    from: 'runtime/datapath/',
    forbidden: ['runtime/instance-manager/'],
    why: 'the data path reaches the instance manager through runtime/contracts/',
  },
  {
    from: 'runtime/instance-manager/',
    forbidden: ['runtime/workers/', 'runtime/instance/'],
    why: 'the instance manager depends on neither the workers nor the commands beside it in the Pod',
  },
  {
    from: 'runtime/instance/',
    forbidden: ['runtime/controller/', 'runtime/instance-manager/', 'runtime/workers/'],
    why: 'the commands inside an instance Pod share only runtime/contracts/ with the controller and the instance manager',
  },
  {
    from: 'runtime/pg/',
    forbidden: ['runtime/controller/', 'runtime/instance-manager/', 'runtime/workers/', 'runtime/instance/', 'runtime/datapath/'],
    why: "a PGCluster's Pods and Jobs share only runtime/contracts/ with the controller",
  },
  {
    from: 'runtime/controller/',
    forbidden: ['runtime/datapath/', 'runtime/workers/', 'runtime/instance/', 'runtime/pg/'],
    why: 'the controller never touches payload bytes; it shares only runtime/contracts/ with the workers',
  },
  {
    from: 'runtime/contracts/',
    forbidden: ['runtime/controller/', 'runtime/workers/', 'runtime/datapath/', 'runtime/instance-manager/', 'runtime/instance/'],
    why: 'a contract is what two processes share; it depends on neither side',
  },
  { from: 'src/', forbidden: ['runtime/', 'test/'], why: 'the construct library ships without the runtime and the tests' },
  { from: 'runtime/', forbidden: ['test/', 'bench/', 'scripts/'], why: 'the runtime ships without tests, benchmarks and scripts' },
];

export interface ImportViolation {
  /** Repository-relative, with forward slashes. */
  file: string;
  line: number;
  specifier: string;
  /** Repository-relative path the specifier resolves to. */
  target: string;
  rule: string;
}

const SOURCE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/;
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'build']);

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const posix = (path: string) => path.split(sep).join('/');

/** `a/b/` is under `a/`; `a/bc` is not under `a/b/`. */
const under = (path: string, folder: string) => path.startsWith(folder);

const lineOf = (text: string, pos: number) => text.slice(0, pos).split('\n').length;

/** Every forbidden import in the rules' source folders under root. */
export function checkImports(root: string, rules: ImportRule[] = IMPORT_RULES): ImportViolation[] {
  const folders = [...new Set(rules.map((r) => r.from))];
  const files = [...new Set(folders.flatMap((folder) => sourceFiles(join(root, folder))))].sort();
  const violations: ImportViolation[] = [];
  for (const path of files) {
    const file = posix(relative(root, path));
    const applicable = rules.filter((r) => under(file, r.from));
    if (applicable.length === 0) continue;
    const text = readFileSync(path, 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const imported of importedFiles) {
      const specifier = imported.fileName;
      if (!specifier.startsWith('.')) continue; // a package, not a room of this repository
      const target = posix(relative(root, resolve(dirname(path), specifier)));
      for (const rule of applicable) {
        const hit = rule.forbidden.find((folder) => under(target, folder) || target === folder.replace(/\/$/, ''));
        if (!hit) continue;
        violations.push({
          file,
          line: lineOf(text, imported.pos),
          specifier,
          target,
          rule: `${rule.from} must not import ${hit} (${rule.why})`,
        });
      }
    }
  }
  return violations;
}

export function formatViolation(v: ImportViolation): string {
  return `${v.file}:${v.line}: ${v.rule}: imports '${v.specifier}'`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const violations = checkImports(root);
  for (const v of violations) console.error(formatViolation(v));
  if (violations.length > 0) {
    console.error(
      `check-imports: ${violations.length} forbidden import${violations.length === 1 ? '' : 's'} (rules: scripts/check-imports.ts)`,
    );
    process.exit(1);
  }
  console.log('check-imports: no forbidden imports');
}
