import { run, type CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { SchemaNode } from '../schema/schema-files.js';

/**
 * Evaluates the schemas' `x-kubernetes-validations` CEL rules in process, so a
 * cross-field mistake fails at synth time with the same message the API server
 * would give. Transition rules (those using oldSelf) need the previous object
 * and are checked only when one is given.
 */
export interface RuleViolation {
  path: string;
  message: string;
}

interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
}

/** CEL has distinct int and double types; JSON integers must become CEL ints. */
export function toCelValue(value: unknown): any {
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value && typeof value === 'object') return new Map(Object.entries(value).map(([k, v]) => [k, toCelValue(v)]));
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value;
}

function evaluate(rule: CelRule, self: unknown, oldSelf: unknown, path: string): RuleViolation | undefined {
  const usesOldSelf = /\boldSelf\b/.test(rule.rule);
  if (usesOldSelf && oldSelf === undefined) return undefined;
  let result: unknown;
  try {
    result = run(
      rule.rule,
      usesOldSelf
        ? ({ self: toCelValue(self), oldSelf: toCelValue(oldSelf) } as Record<string, CelInput>)
        : ({ self: toCelValue(self) } as Record<string, CelInput>),
      { funcs: strings },
    );
  } catch (error) {
    result = error;
  }
  if (result === true) return undefined;
  if (result instanceof Error) {
    return { path, message: `could not evaluate rule ${rule.rule}: ${result.message}` };
  }
  return { path, message: rule.message ?? `failed rule: ${rule.rule}` };
}

/** The path of an array item or an object property below `path`. */
function childPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

/** Rules on an object's declared properties and, when the schema has them, on its additional properties. */
function checkObjectRules(schema: SchemaNode, record: Record<string, unknown>, path: string, oldData?: unknown): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const old = (oldData ?? undefined) as Record<string, unknown> | undefined;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    violations.push(...checkCelRules(child as SchemaNode, record[key], childPath(path, key), old?.[key]));
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    for (const [key, value] of Object.entries(record)) {
      if (!(key in (schema.properties ?? {})))
        violations.push(...checkCelRules(schema.additionalProperties, value, childPath(path, key), old?.[key]));
    }
  }
  return violations;
}

export function checkCelRules(schema: SchemaNode, data: unknown, path: string, oldData?: unknown): RuleViolation[] {
  if (data === undefined || data === null || !schema) return [];
  const violations: RuleViolation[] = [];
  for (const rule of (schema['x-kubernetes-validations'] ?? []) as CelRule[]) {
    const violation = evaluate(rule, data, oldData, path);
    if (violation) violations.push(violation);
  }
  if (Array.isArray(data) && schema.items) {
    data.forEach((item, index) => violations.push(...checkCelRules(schema.items, item, childPath(path, index), undefined)));
  } else if (typeof data === 'object' && !Array.isArray(data)) {
    violations.push(...checkObjectRules(schema, data as Record<string, unknown>, path, oldData));
  }
  return violations;
}
