import { crdFacts, kindSchema, type SiloKind } from './kinds.js';
import type { SchemaNode } from './schema-files.js';

/** Keywords that only ajv or Silo's tooling understand; the API server rejects or ignores them. */
const NON_STRUCTURAL_KEYWORDS = new Set(['$schema', '$id', '$comment', 'title', 'examples', 'x-silo-crd', 'x-silo-fix', 'x-silo-format']);

/**
 * Converts an inlined JSON Schema node into a structural openAPIV3Schema:
 * no `additionalProperties: false` (the API server prunes unknown fields instead),
 * no Silo-only keywords.
 */
export function toStructural(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (NON_STRUCTURAL_KEYWORDS.has(key)) continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as SchemaNode).map(([name, child]) => [name, toStructural(child as SchemaNode)]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object') {
      out[key] = toStructural(value as SchemaNode);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The CustomResourceDefinition for one kind, with status subresource and printer columns. */
export function buildCrd(kind: SiloKind): SchemaNode {
  const facts = crdFacts(kind);
  const schema = kindSchema(kind);
  const openAPIV3Schema = {
    description: schema.description,
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: toStructural(schema.properties.spec),
      status: toStructural(schema.properties.status),
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${facts.plural}.${facts.group}`, labels: { 'app.kubernetes.io/part-of': 'silo' } },
    spec: {
      group: facts.group,
      scope: facts.scope,
      names: {
        kind: facts.kind,
        listKind: `${facts.kind}List`,
        plural: facts.plural,
        singular: facts.singular,
        ...(facts.shortNames ? { shortNames: facts.shortNames } : {}),
        ...(facts.categories ? { categories: facts.categories } : {}),
      },
      versions: [
        {
          name: facts.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: facts.printerColumns ?? [],
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
