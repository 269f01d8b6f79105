/**
 * Disaster-recovery environments: an environment may name the one it stands in for
 * (`failoverFor: production`). Pure rules, no I/O.
 */
import { InvalidArgumentError } from './errors.js';

/** What the rules read of an environment. */
export interface FailoverEnvironment {
  readonly name: string;
  readonly failoverFor?: string;
}

/**
 * Checks that `name` may stand in for `target` among `environments`: the target exists, is not
 * `name` itself, stands in for nobody (no chains), and no other environment already stands in for
 * it (one stand-in per environment, so a gateway never has to choose) nor for `name` (that would
 * be a chain the other way). Throws `INVALID_ARGUMENT` naming the field `failoverFor`.
 */
export function checkFailoverFor(name: string, target: string, environments: readonly FailoverEnvironment[]): void {
  const fail = (rule: string): never => {
    throw new InvalidArgumentError(`failoverFor: ${rule}`);
  };
  if (target === name) fail(`environment ${name} cannot stand in for itself`);
  const found = environments.find((e) => e.name === target);
  if (found === undefined) fail(`environment ${JSON.stringify(target)} does not exist`);
  if (found!.failoverFor !== undefined)
    fail(`${target} itself stands in for ${found!.failoverFor}; failover does not chain`);
  const other = environments.find((e) => e.name !== name && e.failoverFor === target);
  if (other !== undefined) fail(`${other.name} already stands in for ${target}`);
  const dependent = environments.find((e) => e.failoverFor === name);
  if (dependent !== undefined) fail(`${dependent.name} stands in for ${name}; failover does not chain`);
}

/** Primary environment → the environment that stands in for it. */
export function failoverPairs(environments: readonly FailoverEnvironment[]): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const e of environments) if (e.failoverFor !== undefined) pairs.set(e.failoverFor, e.name);
  return pairs;
}
