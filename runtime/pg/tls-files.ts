/**
 * pgBackRest and PostgreSQL read their key files as the postgres user, and refuse a key others may
 * read. Secret volumes are owned by root, so the mounted TLS files are copied into the Pod's run
 * directory, owned by postgres, mode 0600.
 */
import { chownSync, copyFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PG_RUN_DIR, PG_TLS_MOUNT } from '../contracts/pg-pods.js';
import { postgresIds } from './pgbackrest-process.js';

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** A file postgres owns, mode 0600: one it must rename or write (as root, the container would leave it root's). */
export function writeOwned(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  const ids = postgresIds();
  if (ids) chownSync(path, ids.uid, ids.gid);
}

export function ownedDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const ids = postgresIds();
  if (ids) chownSync(path, ids.uid, ids.gid);
  return path;
}

export function copyTlsFiles(from = PG_TLS_MOUNT, to = join(PG_RUN_DIR, 'tls')): TlsFiles {
  ownedDir(to);
  const ids = postgresIds();
  const copy = (name: string): string => {
    const target = join(to, name);
    copyFileSync(join(from, name), target);
    chmodSync(target, 0o600);
    if (ids) chownSync(target, ids.uid, ids.gid);
    return target;
  };
  return { cert: copy('tls.crt'), key: copy('tls.key'), ca: copy('ca.crt') };
}
