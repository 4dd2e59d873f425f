import { Ajv, type CodeOptions, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { kindSchema, type SiloKind } from '../schema/kinds.js';
import type { SchemaNode } from '../schema/schema-files.js';
import { checkCelRules } from './cel-rules.js';
import { describeAjvErrors } from './messages.js';
import { checkPathTemplate } from './path-template.js';

/** One problem, with the dotted field path (`spec.target`) and a sentence that says what to fix. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Thrown by constructs at synth time; the message lists every issue. */
export class SiloValidationError extends Error {
  constructor(
    readonly kind: string,
    readonly objectName: string,
    readonly issues: ValidationIssue[],
  ) {
    super(issues.map((issue) => formatIssue(kind, objectName, issue)).join('\n'));
    this.name = 'SiloValidationError';
  }
}

export function formatIssue(kind: string, objectName: string, issue: ValidationIssue): string {
  return `${kind} "${objectName}": ${issue.message}`;
}

const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

/** The one Ajv configuration; `code` is set only when scripts/gen precompiles a schema into source. */
export function createAjv(code?: CodeOptions): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    verbose: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    ...(code ? { code } : {}),
  });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  for (const keyword of [
    'x-kubernetes-validations',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-silo-crd',
    'x-silo-fix',
  ])
    ajv.addKeyword(keyword);
  ajv.addKeyword({
    keyword: 'x-silo-format',
    schemaType: 'string',
    errors: true,
    validate: function pathTemplate(format: string, data: unknown) {
      if (format !== 'path-template' || typeof data !== 'string') return true;
      const problem = checkPathTemplate(data);
      if (!problem) return true;
      (pathTemplate as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: 'x-silo-format', message: problem, params: {} }];
      return false;
    },
  });
  return ajv;
}

const ajv = createAjv();
const compiled = new Map<SchemaNode, ValidateFunction>();

function compile(schema: SchemaNode): ValidateFunction {
  if (!compiled.has(schema)) compiled.set(schema, ajv.compile(schema));
  return compiled.get(schema)!;
}

/**
 * Validates a document against an inlined schema, as the API server would:
 * structure first (with defaults applied to a copy), then the CEL rules.
 * Returns the defaulted copy alongside the issues.
 */
export function validateAgainst(
  schema: SchemaNode,
  document: unknown,
  oldDocument?: unknown,
): { issues: ValidationIssue[]; defaulted: unknown } {
  const defaulted = structuredClone(document);
  const validate = compile(schema);
  if (!validate(defaulted)) return { issues: describeAjvErrors(validate.errors), defaulted };
  // The API server compares against the stored object, which was defaulted when it was written.
  const oldDefaulted = oldDocument === undefined ? undefined : structuredClone(oldDocument);
  if (oldDefaulted !== undefined) validate(oldDefaulted);
  const issues = checkCelRules(schema, defaulted, '', oldDefaulted);
  return { issues: issues.map((v) => ({ path: v.path, message: v.path ? `${v.path}: ${v.message}` : v.message })), defaulted };
}

/** Validates a whole object of one of Silo's kinds. */
export function validateResource(kind: SiloKind, object: unknown, oldObject?: unknown) {
  return validateAgainst(kindSchema(kind), object, oldObject);
}

/** Throws SiloValidationError unless the object is valid. */
export function assertValidResource(kind: SiloKind, object: { metadata?: { name?: string } }): void {
  const { issues } = validateResource(kind, object);
  if (issues.length) throw new SiloValidationError(kind, object.metadata?.name ?? '<unnamed>', issues);
}
