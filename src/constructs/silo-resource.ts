import { ApiObject, type ApiObjectMetadata, type GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { SILO_KIND_TABLE, type SiloKind } from '../api/kinds.js';
import { formatIssue, validateResource } from '../validation/validator.js';

/** apiVersion and kind of one of Silo's kinds, from the generated kinds table (src/api/kinds.ts). */
export function gvkOf(kind: SiloKind): GroupVersionKind {
  return { apiVersion: SILO_KIND_TABLE[kind].apiVersion, kind: SILO_KIND_TABLE[kind].kind };
}

/** Props every Silo construct takes besides its spec. */
export interface SiloResourceOptions {
  /**
   * Object metadata. The name is stable and never hashed.
   * @default - name is the construct id; namespace is the chart's
   */
  readonly metadata?: ApiObjectMetadata;
}

/**
 * Base of the L2 constructs: emits one object with exactly the field names of
 * the JSON Schemas (the L1 classes in imports/ rename fields such as backupID;
 * decisions 0002 and 0030),
 * and validates it against the schema, CEL rules included, when synthesized.
 */
export abstract class SiloResource<Spec extends object> extends Construct {
  /** The emitted API object. */
  readonly apiObject: ApiObject;

  protected constructor(scope: Construct, id: string, kind: SiloKind, spec: Spec, metadata?: ApiObjectMetadata) {
    super(scope, id);
    this.apiObject = new ApiObject(this, 'Resource', {
      ...gvkOf(kind),
      metadata: { ...metadata, name: metadata?.name ?? id },
      spec: stripUndefined(spec),
    } as never);
    this.node.addValidation({
      validate: () => {
        const manifest = this.apiObject.toJson();
        return validateResource(kind, manifest).issues.map((issue) => formatIssue(kind, manifest.metadata?.name, issue));
      },
    });
  }

  /** metadata.name of the emitted object. */
  get name(): string {
    return this.apiObject.name;
  }
}

/** JSON has no undefined: drop optional props the user left out. */
export function stripUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(stripUndefined) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, stripUndefined(v)]),
    ) as T;
  }
  return value;
}
