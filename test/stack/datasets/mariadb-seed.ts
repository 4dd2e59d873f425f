import { mariadbSql, type MariadbInstance } from '../components/mariadb.js';

export interface SeedOptions {
  /** Rows per table. */
  rows?: number;
  /** Approximate total size instead of rows: each row set is ~1.3 KiB across the three tables. */
  megabytes?: number;
  database?: string;
}

export interface SeedResult {
  database: string;
  rows: number;
  tables: string[];
}

const BYTES_PER_ROW_SET = 1300;

/**
 * Creates a few InnoDB tables with varied data (text, numbers, dates, enums,
 * compressible and incompressible blobs) and fills each to exactly `rows` rows.
 * It doubles with INSERT … SELECT, so a million rows takes ~20 statements
 * instead of a million round trips.
 */
export async function seedDataset(inst: MariadbInstance, opts: SeedOptions = {}): Promise<SeedResult> {
  const database = opts.database ?? 'silo_seed';
  const rows = opts.rows ?? Math.max(1, Math.ceil(((opts.megabytes ?? 1) * 1024 * 1024) / BYTES_PER_ROW_SET));
  await mariadbSql(inst, `DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database};`);
  await mariadbSql(
    inst,
    `
    CREATE TABLE customers (
      id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
      name VARCHAR(64) NOT NULL,
      email VARCHAR(128) NOT NULL,
      created DATETIME NOT NULL,
      balance DECIMAL(12,2) NOT NULL,
      KEY by_email (email)
    ) ENGINE=InnoDB;
    CREATE TABLE orders (
      id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
      customer_id BIGINT UNSIGNED NOT NULL,
      amount DOUBLE NOT NULL,
      status ENUM('new','paid','shipped','returned') NOT NULL,
      note TEXT,
      KEY by_customer (customer_id)
    ) ENGINE=InnoDB;
    CREATE TABLE payloads (
      id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
      -- half repetitive text (compresses well), half random bytes (does not)
      text_part VARCHAR(600) NOT NULL,
      random_part VARBINARY(512) NOT NULL
    ) ENGINE=InnoDB;`,
    database,
  );
  await mariadbSql(
    inst,
    `
    INSERT INTO customers (name, email, created, balance)
      VALUES ('seed', 'seed@example.test', NOW(), 0);
    INSERT INTO orders (customer_id, amount, status, note) VALUES (1, 1.5, 'new', 'seed');
    INSERT INTO payloads (text_part, random_part) VALUES (REPEAT('seed ', 100), RANDOM_BYTES(512));`,
    database,
  );
  const fill: Record<string, string> = {
    customers: `INSERT INTO customers (name, email, created, balance)
      SELECT CONCAT('customer-', FLOOR(RAND() * 1e9)), CONCAT(MD5(RAND()), '@example.test'),
             NOW() - INTERVAL FLOOR(RAND() * 1e8) SECOND, ROUND(RAND() * 1e6, 2)
      FROM customers LIMIT ?`,
    orders: `INSERT INTO orders (customer_id, amount, status, note)
      SELECT FLOOR(1 + RAND() * ${rows}), RAND() * 1000, ELT(1 + FLOOR(RAND() * 4), 'new','paid','shipped','returned'),
             IF(RAND() < 0.3, NULL, REPEAT(SUBSTRING(MD5(RAND()), 1, 8), 1 + FLOOR(RAND() * 8)))
      FROM orders LIMIT ?`,
    payloads: `INSERT INTO payloads (text_part, random_part)
      SELECT REPEAT(CONCAT('row ', FLOOR(RAND() * 1000), ' '), 60), RANDOM_BYTES(512)
      FROM payloads LIMIT ?`,
  };
  for (const insert of Object.values(fill)) {
    for (let have = 1; have < rows; have *= 2) {
      const add = Math.min(have, rows - have);
      await mariadbSql(inst, insert.replace('?', String(add)), database);
    }
  }
  return { database, rows, tables: Object.keys(fill) };
}

/** `CHECKSUM TABLE` of every seeded table, for comparing a restore with its source. */
export async function checksumTables(inst: MariadbInstance, seed: SeedResult): Promise<Record<string, string>> {
  const out = await mariadbSql(inst, `CHECKSUM TABLE ${seed.tables.join(', ')}`, seed.database);
  return Object.fromEntries(
    out.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t') as [string, string]),
  );
}
