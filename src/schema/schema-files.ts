import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** A JSON Schema node. Schemas are authored as YAML under schemas/. */
export type SchemaNode = Record<string, any>;

/**
 * Absolute path of the schemas/ folder that ships with this package: the nearest
 * one above this module, so the sources (src/schema/) and a bundle (build/) both find it.
 */
export const SCHEMAS_DIR = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'schemas', 'metadata'))) return join(dir, 'schemas');
    if (dirname(dir) === dir) return resolve(dirname(fileURLToPath(import.meta.url)), '../../schemas');
  }
})();

const fileCache = new Map<string, SchemaNode>();

export function readSchemaFile(absolutePath: string): SchemaNode {
  let doc = fileCache.get(absolutePath);
  if (!doc) {
    doc = parse(readFileSync(absolutePath, 'utf8')) as SchemaNode;
    fileCache.set(absolutePath, doc);
  }
  return doc;
}

function followPointer(doc: SchemaNode, pointer: string, where: string): SchemaNode {
  let node: any = doc;
  for (const raw of pointer.split('/').filter(Boolean)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node?.[part];
    if (node === undefined) throw new Error(`schema $ref ${where} does not resolve`);
  }
  return node;
}

/**
 * Returns the schema with every $ref replaced by its target, so ajv, the CEL
 * walker and the CRD generator all see one self-contained tree. Keywords beside
 * a $ref refine the target: descriptions override, CEL rules add up.
 */
export function inlineRefs(node: any, file: string, rootDoc: SchemaNode = readSchemaFile(file)): any {
  if (Array.isArray(node)) return node.map((item) => inlineRefs(item, file, rootDoc));
  if (!node || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') {
    const [target, pointer = ''] = node.$ref.split('#');
    const targetFile = target ? join(dirname(file), target) : file;
    const targetDoc = target ? readSchemaFile(targetFile) : rootDoc;
    const resolved = inlineRefs(followPointer(targetDoc, pointer, `${node.$ref} in ${file}`), targetFile, targetDoc);
    const { $ref: _ref, ...siblings } = node;
    const merged: SchemaNode = { ...resolved, ...inlineRefs(siblings, file, rootDoc) };
    const rules = [...(resolved['x-kubernetes-validations'] ?? []), ...(siblings['x-kubernetes-validations'] ?? [])];
    if (rules.length) merged['x-kubernetes-validations'] = rules;
    delete merged.$id;
    delete merged.$schema;
    return merged;
  }
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) out[key] = inlineRefs(value, file, rootDoc);
  return out;
}

/** Loads a schema file under schemas/ with all references inlined. */
export function loadInlinedSchema(relativePath: string): SchemaNode {
  const file = join(SCHEMAS_DIR, relativePath);
  const inlined = inlineRefs(readSchemaFile(file), file);
  delete inlined.$id;
  return inlined;
}
