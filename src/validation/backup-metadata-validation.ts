import type { ErrorObject } from 'ajv';
import { validate as validateCompiled } from '../generated/backup-metadata-validator.js';
import { describeAjvErrors } from './messages.js';
import type { ValidationIssue } from './validator.js';

/**
 * Validates a metadata.json document with the schema precompiled by `npm run gen` (decision 0019),
 * so a worker does not load ajv, yaml and the CEL evaluator to check one document. The same
 * sentences as every other validation: describeAjvErrors names the field and the fix.
 */
export function validateBackupMetadata(document: unknown): { issues: ValidationIssue[]; defaulted: unknown } {
  const defaulted = structuredClone(document);
  const validate = validateCompiled as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
  return { issues: validate(defaulted) ? [] : describeAjvErrors(validate.errors), defaulted };
}
