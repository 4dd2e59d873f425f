// Temp directories a describe block makes under the system's temp dir, removed after it: a CI run had left
// about 25 of them in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Call in a describe block; the function it returns makes `<tmpdir>/<prefix>XXXXXX`, removed by an `after` hook. */
export function useTempDirs(): (prefix: string) => string {
  const made: string[] = [];
  after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  return (prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
