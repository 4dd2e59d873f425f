import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
/** The seed documents, vendored byte for byte (test/fixtures/README.md names their source). */
export const SEEDS_DIR = join(REPO_ROOT, 'test/fixtures/seed-documents');
export const SEED_FIXTURES_DIR = join(REPO_ROOT, 'test/fixtures/seeds');

export interface SeedExample {
  /** Where it came from, e.g. `002#1`. */
  readonly id: string;
  readonly seedFile: string;
  readonly text: string;
  readonly object: Record<string, any>;
}

/**
 * YAML blocks of seeds 002 and 004 as written: each starts at an `apiVersion:`
 * line and runs to the next blank line or code fence.
 */
export function extractYamlBlocks(seedText: string): string[] {
  const lines = seedText.split('\n');
  const blocks: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('apiVersion:')) continue;
    const block: string[] = [];
    while (i < lines.length && lines[i].trim() !== '' && !lines[i].startsWith('```')) block.push(lines[i++]);
    blocks.push(block.join('\n'));
  }
  return blocks;
}

/** Every YAML example of the seeds: 002 and 004 verbatim, 003 re-indented (see seed003MatchesFixtures). */
export function seedExamples(): SeedExample[] {
  const examples: SeedExample[] = [];
  for (const seedFile of ['002-backup-operator-intro.txt', '004-backup-operator-flows.txt']) {
    extractYamlBlocks(readFileSync(join(SEEDS_DIR, seedFile), 'utf8')).forEach((text, index) => {
      examples.push({ id: `${seedFile.slice(0, 3)}#${index + 1}`, seedFile, text, object: parse(text) });
    });
  }
  for (const file of readdirSync(SEED_FIXTURES_DIR)
    .filter((f) => f.startsWith('003-'))
    .sort()) {
    const text = readFileSync(join(SEED_FIXTURES_DIR, file), 'utf8');
    examples.push({ id: `003/${file}`, seedFile: '003-cloudnative-mysql-physical-backup.txt', text, object: parse(text) });
  }
  return examples;
}

/** Lines without indentation or blank lines, and without our own leading comment lines. */
export function contentLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('# '));
}
