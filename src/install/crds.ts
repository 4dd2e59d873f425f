import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { parse } from 'yaml';

const CRDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../generated/crds');

/** Reads the CRDs that `npm run gen` wrote from schemas/. */
export function generatedCrds(): Array<Record<string, any>> {
  return readdirSync(CRDS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => parse(readFileSync(join(CRDS_DIR, file), 'utf8')));
}

/** Emits Silo's six CustomResourceDefinitions. */
export class SiloCrds extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    for (const crd of generatedCrds()) {
      new ApiObject(this, crd.metadata.name, crd as never);
    }
  }
}
