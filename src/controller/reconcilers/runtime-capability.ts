/**
 * The `RuntimeCapable` condition of a deployment: a revision whose workload sets a field the
 * engine of its environment cannot honour (each engine lists them in
 * `capabilities.unsupportedFields`, e.g. `dependencies` on Kubernetes, `image` locally) is refused
 * — not applied, the deployment blocked with the reason — instead of running without the field.
 *
 * - Refused: `RuntimeCapable: False`, reason `NotSupported`, the message naming the runtime and
 *   the field, and one Warning event `RuntimeNotCapable` (none again while the message is the same).
 * - A later revision the engine can run: `RuntimeCapable: True` (reason `Supported`). A deployment
 *   that was never refused carries no `RuntimeCapable` condition at all.
 *
 * `runtimeRefusal` asks the runtime; `runtimeCapable` is pure.
 */
import type { DeploymentStatus } from '../../core/resources.js';
import { setCondition } from '../../core/resources.js';
import { type Runtime, unhonouredFields, type Workload } from '../../runtime/runtime.js';
import type { EventInput } from '../../services/deployment-events.js';

export const RUNTIME_CAPABLE_CONDITION = 'RuntimeCapable';

/** Why the engine that would run `workload` cannot run it as described; undefined when it can. */
export async function runtimeRefusal(runtime: Runtime, workload: Workload): Promise<string | undefined> {
  // An environment whose engine is not configured here: `apply` reports that, as it always has.
  const engine = runtime.engineFor ? await runtime.engineFor(workload.key).catch(() => undefined) : runtime;
  if (engine === undefined) return undefined;
  const fields = unhonouredFields(workload, engine.capabilities);
  return fields.length === 0 ? undefined : `the ${engine.name} runtime cannot honour ${fields.join('; ')}`;
}

/** `status` with the condition for `refusal` (see the module comment), and the event to record, if any. */
export function runtimeCapable(
  status: DeploymentStatus,
  refusal: string | undefined,
  now: string,
): { status: DeploymentStatus; event?: EventInput } {
  const current = status.conditions.find((c) => c.type === RUNTIME_CAPABLE_CONDITION);
  if (refusal === undefined) {
    if (current === undefined || current.status === 'True') return { status };
    const message = 'the runtime can run the current revision';
    const condition = { type: RUNTIME_CAPABLE_CONDITION, status: 'True', reason: 'Supported', message } as const;
    return { status: { ...status, conditions: setCondition(status.conditions, condition, now) } };
  }
  const condition = {
    type: RUNTIME_CAPABLE_CONDITION,
    status: 'False',
    reason: 'NotSupported',
    message: refusal,
  } as const;
  const conditions = setCondition(status.conditions, condition, now);
  if (current?.status === 'False' && current.message === refusal) return { status: { ...status, conditions } };
  return {
    status: { ...status, conditions },
    event: { type: 'Warning', reason: 'RuntimeNotCapable', message: refusal },
  };
}
