/**
 * A/B test feedback: the outcome of one served request (`x-request-id`), attributed to the variant
 * (workload revision) that answered it, given by the caller or looked up in the gateway's recent
 * assignments (which then must agree with what the caller says); and the results view
 * (ab-results.ts) over what was recorded.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Feedback } from '../core/resources.js';
import type { Store } from '../store/store.js';
import { abResults } from './ab-results.js';
import type { DeploymentService } from './deployment-service.js';

/** Which deployment and revision served a request, as the gateway remembers it. */
export interface Assignment {
  environment: string;
  deployment: string;
  revision: number;
}

/** The revision that answered a request; may throw UnavailableError when the gateway does not answer. */
export type AssignmentLookup = (requestId: string) => Assignment | undefined | Promise<Assignment | undefined>;

/** What a caller reports about one request. */
export interface FeedbackReport {
  requestId: string;
  /** 0/1 (or false/true) for conversions, or any finite number. */
  outcome: number | boolean;
  /** The variant that answered, from the `x-wharf-revision` response header; else the gateway's record. */
  revision?: number;
}

/** See the module comment. */
export class FeedbackService {
  constructor(
    private readonly store: Store,
    private readonly deployments: DeploymentService,
    private readonly assignmentOf?: AssignmentLookup,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Records `report` for deployment `name` in `environment` on behalf of `by`. */
  async record(name: string, environment: string, report: FeedbackReport, by: string): Promise<Feedback> {
    const d = await this.deployments.get(name, environment);
    let assigned: Assignment | undefined;
    try {
      assigned = await this.assignmentOf?.(report.requestId);
    } catch (err) {
      // With the variant given, the feedback stands without the gateway's cross-check.
      if (report.revision === undefined) throw err;
    }
    if (assigned !== undefined && (assigned.environment !== environment || assigned.deployment !== name)) {
      throw new InvalidArgumentError(
        `requestId: request ${report.requestId} was served by ${assigned.deployment} in ${assigned.environment}, not ${name} in ${environment}`,
      );
    }
    const revision = report.revision ?? assigned?.revision;
    if (revision === undefined) {
      throw new InvalidArgumentError(
        `revision: the gateway has no record of request ${report.requestId}; send the variant's revision (the x-wharf-revision response header)`,
      );
    }
    if (assigned !== undefined && report.revision !== undefined && report.revision !== assigned.revision) {
      throw new InvalidArgumentError(
        `revision: request ${report.requestId} was answered by revision ${assigned.revision}, not ${report.revision}`,
      );
    }
    const outcome = typeof report.outcome === 'boolean' ? (report.outcome ? 1 : 0) : report.outcome;
    if (!Number.isFinite(outcome)) throw new InvalidArgumentError('outcome: must be a finite number or a boolean');
    return this.store.feedback.create({
      deployment: d.id,
      requestId: report.requestId,
      revision,
      outcome,
      time: this.now().toISOString(),
      by,
    });
  }

  /** Per-variant outcomes and a significance test for deployment `name` in `environment`. */
  async results(name: string, environment: string): Promise<Record<string, unknown>> {
    return abResults(this.store, await this.deployments.get(name, environment));
  }
}
