/**
 * The result view of an A/B test: per variant (A = the stable revision, B = the new one) the
 * feedback recorded, conversion (outcomes of 0/1) or mean outcome, and the significance test
 * (`core/ab-stats.ts`). Binary when every outcome is 0 or 1; Welch's t-test otherwise.
 */
import { compareConversions, summarize, welchTTest } from '../core/ab-stats.js';
import type { Deployment, Feedback } from '../core/resources.js';
import type { Store } from '../store/store.js';
import { listAll } from './store-pages.js';

/** See the module comment. */
export async function abResults(store: Store, deployment: Deployment): Promise<Record<string, unknown>> {
  const feedback: Feedback[] = await listAll(store.feedback, { deployment: deployment.id });
  const rollout = deployment.status.rollout;
  const a = rollout?.stable;
  const b =
    rollout?.canary ?? [...new Set(feedback.map((f) => f.revision))].filter((r) => r !== a).sort((x, y) => y - x)[0];
  const of = (revision: number | undefined) => feedback.filter((f) => f.revision === revision).map((f) => f.outcome);
  const [outA, outB] = [of(a), of(b)];
  const binary = [...outA, ...outB].every((v) => v === 0 || v === 1);
  const names = [`A (revision ${a ?? '-'})`, `B (revision ${b ?? '-'})`] as const;
  const test = binary
    ? compareConversions(
        { n: outA.length, conversions: outA.filter((v) => v === 1).length },
        { n: outB.length, conversions: outB.filter((v) => v === 1).length },
        { names },
      )
    : welchTTest(summarize(outA), summarize(outB), { names });
  return {
    deployment: deployment.name,
    environment: deployment.environment,
    variants: { a: { revision: a ?? null, outcomes: outA.length }, b: { revision: b ?? null, outcomes: outB.length } },
    outcome: binary ? 'binary' : 'numeric',
    test,
    otherRevisions: [...new Set(feedback.map((f) => f.revision))].filter((r) => r !== a && r !== b),
  };
}
