import { readFileSync } from 'node:fs';

/** Every pinned version lives in versions.json; components read them only through here. */
export interface Versions {
  kubernetes: string;
  etcd: string;
  minio: string;
  mc: string;
  fakeGcsServer: string;
  azurite: string;
  debian: { ceph: string; mariadb: string; postgresql: string; pgbackrest: string };
}

export const versions: Versions = JSON.parse(readFileSync(new URL('./versions.json', import.meta.url), 'utf8'));
