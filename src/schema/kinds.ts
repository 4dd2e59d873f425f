import { readdirSync } from 'node:fs';
import { join } from 'node:path';
// Types only: `npm run gen` runs on this module and writes src/api/kinds.ts, so it must not need that file.
import type { SiloKind } from '../api/kinds.js';
import { loadInlinedSchema, readSchemaFile, SCHEMAS_DIR, type SchemaNode } from './schema-files.js';

export type { SiloKind } from '../api/kinds.js';

/** CRD facts recorded beside each kind's schema (`x-silo-crd`). */
export interface CrdFacts {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames?: string[];
  categories?: string[];
  printerColumns?: Array<{ name: string; type: string; jsonPath: string; description?: string }>;
}

/** The folders under schemas/, sorted: API groups, plus `common` and `metadata`. */
export function schemaFolders(): string[] {
  return readdirSync(SCHEMAS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** The schema files of one folder under schemas/, relative to schemas/, sorted. */
export function schemaFilesIn(folder: string): string[] {
  return readdirSync(join(SCHEMAS_DIR, folder))
    .filter((name) => name.endsWith('.schema.yaml'))
    .sort()
    .map((name) => `${folder}/${name}`);
}

/**
 * Scans schemas/: every schema file with `x-silo-crd` facts defines one kind, and its folder is
 * named after the kind's API group. Adding a group is adding a folder (then `npm run gen`).
 */
export function scanKindSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const folder of schemaFolders()) {
    for (const file of schemaFilesIn(folder)) {
      const facts = readSchemaFile(join(SCHEMAS_DIR, file))['x-silo-crd'] as CrdFacts | undefined;
      if (!facts) continue;
      if (facts.group !== folder)
        throw new Error(
          `${file}: x-silo-crd.group is ${facts.group}, but the schema sits in schemas/${folder}/ (a group's kinds sit in a folder named after the group)`,
        );
      if (files[facts.kind])
        throw new Error(`${file}: kind ${facts.kind} is already defined by ${files[facts.kind]} (kind names are unique across groups)`);
      files[facts.kind] = file;
    }
  }
  return files;
}

/** Every kind Silo serves, by the schema file that defines it (found by scanning schemas/). */
export const KIND_SCHEMA_FILES = scanKindSchemaFiles() as Record<SiloKind, string>;
export const SILO_KINDS = Object.keys(KIND_SCHEMA_FILES) as SiloKind[];

/** The metadata.json document written last by every completed backup. */
export const BACKUP_METADATA_SCHEMA_FILE = 'metadata/backup-metadata.schema.yaml';

const cache = new Map<string, SchemaNode>();

export function kindSchema(kind: SiloKind): SchemaNode {
  const file = KIND_SCHEMA_FILES[kind];
  if (!file) throw new Error(`no schema under schemas/ defines kind ${kind}`);
  if (!cache.has(file)) cache.set(file, loadInlinedSchema(file));
  return cache.get(file)!;
}

export function crdFacts(kind: SiloKind): CrdFacts {
  return kindSchema(kind)['x-silo-crd'] as CrdFacts;
}

export function apiVersionOf(kind: SiloKind): string {
  const facts = crdFacts(kind);
  return `${facts.group}/${facts.version}`;
}
