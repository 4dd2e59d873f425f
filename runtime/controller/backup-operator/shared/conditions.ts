/**
 * Conditions in the shape of schemas/common/condition.schema.yaml. The
 * transition time moves only when the status flips, as kubectl and
 * `kubectl wait --for=condition` expect.
 */
import type { Condition } from '../../../../src/generated/api-types.js';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/** Returns a new list with `input` set; other types are kept in order. */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: Date, observedGeneration?: number): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const previous = index === -1 ? undefined : list[index];
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: previous && previous.status === input.status ? previous.lastTransitionTime : now.toISOString(),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (index === -1) list.push(next);
  else list[index] = next;
  return list;
}

export const findCondition = (conditions: readonly Condition[] | undefined, type: string): Condition | undefined =>
  conditions?.find((c) => c.type === type);
