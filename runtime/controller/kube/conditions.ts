/**
 * Conditions in the shape of schemas/common/condition.schema.yaml, for every
 * kind of every group. The transition time moves only when the condition
 * flips (its status, or for some kinds its status or reason), as kubectl and
 * `kubectl wait --for=condition` expect.
 */
import type { Condition } from '../../../src/api/common/types.js';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

export interface ConditionOptions {
  /** Written as the condition's observedGeneration when given. */
  readonly observedGeneration?: number;
  /**
   * What keeps lastTransitionTime: the same status (default), or the same status
   * and reason (ScheduledBackup's Ready, which moves on every change of reason).
   */
  readonly transitionOn?: 'status' | 'statusOrReason';
}

/** The condition `input` as it follows `previous` (the same type's current one, if any). */
export function nextCondition(
  previous: Condition | undefined,
  input: ConditionInput,
  now: Date,
  options: ConditionOptions = {},
): Condition {
  const same =
    previous !== undefined &&
    previous.status === input.status &&
    (options.transitionOn !== 'statusOrReason' || previous.reason === input.reason);
  return {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: same ? previous.lastTransitionTime : now.toISOString(),
    ...(options.observedGeneration !== undefined ? { observedGeneration: options.observedGeneration } : {}),
  };
}

/** Returns a new list with `input` set in place; other types are kept in order. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
  observedGeneration?: number,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const next = nextCondition(index === -1 ? undefined : list[index], input, now, { observedGeneration });
  if (index === -1) list.push(next);
  else list[index] = next;
  return list;
}

export const findCondition = (conditions: readonly Condition[] | undefined, type: string): Condition | undefined =>
  conditions?.find((c) => c.type === type);

/** True when the condition `type` (default Ready) is present with status True. */
export const isConditionTrue = (conditions: readonly Condition[] | undefined, type = 'Ready'): boolean =>
  findCondition(conditions, type)?.status === 'True';
