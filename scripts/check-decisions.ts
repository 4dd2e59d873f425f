/**
 * `npm run check:decisions`: every decision record in docs/decisions/ is in the
 * index of docs/decisions/README.md, every record the index links to exists,
 * and no two records share a number. Prints each problem and exits 1.
 *
 *   npx tsx scripts/check-decisions.ts [decisions-dir]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const RECORD = /^(\d{4})-[a-z0-9-]+\.md$/;

/** Problems with the index of the decision records in dir; empty when all is well. */
export function checkDecisionIndex(dir: string): string[] {
  const records = readdirSync(dir)
    .filter((f) => RECORD.test(f))
    .sort();
  const strays = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md' && !RECORD.test(f));
  const index = readFileSync(join(dir, 'README.md'), 'utf8');
  const linked = new Set([...index.matchAll(/\]\((\d{4}-[^)\s]+\.md)\)/g)].map((m) => m[1]));
  const problems: string[] = [];
  for (const f of strays) problems.push(`${f}: not named NNNN-short-title.md`);
  for (const f of records) if (!linked.has(f)) problems.push(`${f}: missing from the index in README.md`);
  for (const f of [...linked].sort()) if (!records.includes(f)) problems.push(`README.md links to ${f}, which does not exist`);
  const byNumber = new Map<string, string[]>();
  for (const f of records) byNumber.set(f.slice(0, 4), [...(byNumber.get(f.slice(0, 4)) ?? []), f]);
  for (const [n, files] of byNumber) if (files.length > 1) problems.push(`${n} is used by ${files.length} records: ${files.join(', ')}`);
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'decisions'));
  const problems = checkDecisionIndex(dir);
  for (const p of problems) console.error(`check-decisions: ${p}`);
  if (problems.length > 0) process.exit(1);
  console.log(`check-decisions: ${readdirSync(dir).filter((f) => RECORD.test(f)).length} records, all in the index`);
}
