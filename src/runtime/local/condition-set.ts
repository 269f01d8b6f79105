/** Status conditions of one workload, with Kubernetes' rule for `lastTransitionTime`. */
import type { Condition } from '../runtime.js';

/** Conditions by type; setting one with an unchanged status keeps its transition time. */
export class ConditionSet {
  private readonly byType = new Map<string, Condition>();

  constructor(private readonly now: () => number) {}

  /** Sets the condition of `type`; `lastTransitionTime` moves only when `status` changes. */
  set(type: string, status: Condition['status'], reason: string, message: string): void {
    const previous = this.byType.get(type);
    const lastTransitionTime =
      previous?.status === status ? previous.lastTransitionTime : new Date(this.now()).toISOString();
    this.byType.set(type, { type, status, reason, message, lastTransitionTime });
  }

  /** True when a condition of `type` was ever set. */
  has(type: string): boolean {
    return this.byType.has(type);
  }

  /** All conditions, in the order they were first set. */
  list(): Condition[] {
    return [...this.byType.values()];
  }
}
