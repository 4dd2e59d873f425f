import type { ErrorObject } from 'ajv';
import type { ValidationIssue } from './validator.js';

/** `/spec/externalClusters/0/name` → `spec.externalClusters[0].name` */
export function dottedPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

const shown = (value: unknown) => JSON.stringify(value);
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function closest(word: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length];
  };
  const best = candidates.map((c) => [c, distance(word, c)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(word.length / 3)) ? best[0] : undefined;
}

/** A value that breaks a pattern, a bound, a size or a format: the sentence, with the schema's fix where it gives one. */
function describeConstraintError(error: ErrorObject, path: string): ValidationIssue {
  const fix = (error.parentSchema as Record<string, unknown> | undefined)?.['x-silo-fix'];
  const withFix = (text: string) => (fix ? `${text}; ${fix}` : text);
  const p = error.params as Record<string, any>;
  switch (error.keyword) {
    case 'pattern':
      return { path, message: withFix(`${path} is not valid (got ${shown(error.data)})`) };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: withFix(`${path} must be ${p.comparison} ${p.limit} (got ${shown(error.data)})`) };
    case 'minLength':
      return {
        path,
        message: p.limit === 1 ? `${path} must not be empty` : `${path} must be at least ${p.limit} characters (got ${shown(error.data)})`,
      };
    case 'maxLength':
      return { path, message: `${path} must be at most ${p.limit} characters` };
    case 'minItems':
      return { path, message: `${path} must have at least ${p.limit} item${p.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { path, message: `${path} must have at most ${p.limit} items` };
    case 'format':
      return { path, message: `${path} must be a ${p.format} (got ${shown(error.data)})` };
    case 'x-silo-format':
      return { path, message: `${path} ${error.message} (got ${shown(error.data)})` };
    default:
      return { path, message: `${path || 'object'} ${error.message}` };
  }
}

/** Turns one ajv error into a sentence naming the field and the fix. */
function describeAjvError(error: ErrorObject): ValidationIssue {
  const path = dottedPath(error.instancePath);
  const p = error.params as Record<string, any>;
  switch (error.keyword) {
    case 'enum':
      return { path, message: `${path} must be one of ${p.allowedValues.join(', ')} (got ${shown(error.data)})` };
    case 'required':
      return { path: join(path, p.missingProperty), message: `${join(path, p.missingProperty)} is required` };
    case 'additionalProperties': {
      const known = Object.keys((error.parentSchema as any)?.properties ?? {});
      const guess = closest(p.additionalProperty, known);
      const hint = guess ? `did you mean ${guess}?` : `known fields are ${known.join(', ')}`;
      return { path: join(path, p.additionalProperty), message: `${join(path, p.additionalProperty)} is not a known field; ${hint}` };
    }
    case 'type':
      return { path, message: `${path} must be ${/^[aeiou]/.test(p.type) ? 'an' : 'a'} ${p.type} (got ${shown(error.data)})` };
    default:
      return describeConstraintError(error, path);
  }
}

/**
 * One issue per distinct sentence for a failed ajv validation: `if` errors only repeat their `then`
 * branch's, and ajv reports some problems once per branch.
 */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
  const seen = new Set<string>();
  return (errors ?? [])
    .filter((error) => error.keyword !== 'if')
    .map(describeAjvError)
    .filter((issue) => !seen.has(issue.message) && seen.add(issue.message));
}
