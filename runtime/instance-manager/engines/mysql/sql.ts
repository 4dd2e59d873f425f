import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQL_MODE_RESET } from '../../../contracts/mysql-sql.js';
import { connectionArgs, defaultsFileContents, type DatabaseConnection } from './mariabackup.js';

export interface SqlOptions {
  /** `--vertical`: one `name: value` line per column, as `SHOW SLAVE STATUS\G` prints. */
  readonly vertical?: boolean;
  readonly timeoutMs?: number;
  /** Strings (passwords) replaced by `***` in an error message, should the server quote the statement back. */
  readonly redact?: readonly string[];
}

/**
 * Runs SQL through the `mariadb` client and resolves with its stdout. The password goes through a
 * --defaults-extra-file (mode 0600, removed afterwards) and the statements through stdin, so neither
 * the connection's password nor one inside the SQL (CHANGE MASTER … MASTER_PASSWORD) is ever on argv.
 */
export async function runSql(connection: DatabaseConnection, sql: string, options: SqlOptions = {}): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'silo-sql-'));
  try {
    const defaultsFile = join(work, 'client.cnf');
    writeFileSync(defaultsFile, defaultsFileContents(connection), { mode: 0o600 });
    const args = [...connectionArgs(connection, defaultsFile), '--batch', ...(options.vertical ? ['--vertical'] : ['--skip-column-names'])];
    return await new Promise<string>((resolve, reject) => {
      const child = spawn('mariadb', args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 15_000 });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4096)));
      child.on('error', (error) => reject(new Error(`cannot run mariadb: ${error.message}`)));
      child.on('close', (code, signal) => {
        if (code === 0) return resolve(stdout);
        let message =
          stderr.trim().split('\n').at(-1) || (signal ? `mariadb was killed by ${signal}` : `mariadb exited with status ${code}`);
        for (const secret of options.redact ?? []) if (secret) message = message.split(secret).join('***');
        reject(new Error(message.slice(0, 500)));
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${SQL_MODE_RESET}\n${sql}\n`);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `name: value` lines of `--vertical` output, by name (the first row that has the name wins). */
export function verticalFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*):[ \t]?(.*)$/.exec(line);
    if (match && !fields.has(match[1])) fields.set(match[1], match[2].trim());
  }
  return fields;
}
