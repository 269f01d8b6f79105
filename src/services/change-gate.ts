/**
 * Approvals: in an environment whose policy `requiresApproval` is set, a change to a deployment is
 * not applied when asked; it is stored as a pending {@link Approval} and applied, exactly as asked
 * and on behalf of its requester, once someone else approves it. Rejected or failed requests change
 * nothing. Rollout commands (promote, abort, retry) are not gated: aborting must never wait.
 *
 * Four eyes: the requester and the decider are the authenticated principals of their requests
 * (`currentRequest()`), stored with id and name; nobody approves a change they requested, compared
 * by the principal's stable id (so `alice` and `Alice` are one person only if they are one
 * principal), and an approver or rejecter needs `approvals:decide` in the approval's environment.
 * A requester who may decide there may reject (withdraw) their own pending change. Only where a request carries no
 * principal, or the anonymous one (`--auth none`), does the actor name stand in for the id.
 *
 * @example
 *   const gate = new ChangeGate(store, { update: (r, o) => deployments.update(r.name, r.environment, r.patch, o) });
 *   const outcome = await gate.submit({ environment: 'production', deploymentName: 'risk', action: 'update', request, summary, actor: 'alice' });
 *   if ('approval' in outcome) reply(202, outcome.approval);
 */
import { randomBytes } from 'node:crypto';
import { hasErrorCode, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '../core/errors.js';
import { currentRequest } from '../core/request-context.js';
import type { Approval, ApprovalParty } from '../core/resources.js';
import type { Page, Store } from '../store/store.js';
import type { Authorizer } from './access/authorizer.js';

/** Applies an approved request on behalf of its requester. */
export type ChangeExecutor = (
  request: Record<string, unknown>,
  options: { actor: string; reason?: string },
) => Promise<unknown>;

/** What a caller asks to change. */
export interface ChangeRequest {
  environment: string;
  deploymentName: string;
  /** A key of the executors given to the gate. */
  action: string;
  request: Record<string, unknown>;
  summary: string;
  actor: string;
  reason?: string;
  /**
   * Throws what applying would refuse (e.g. the admission policies), checked before an approval is
   * recorded, so a change that can never apply is refused now instead of waiting for an approver.
   */
  precheck?: () => Promise<void>;
}

/** See the module comment. */
export class ChangeGate {
  constructor(
    private readonly store: Store,
    private readonly executors: Readonly<Record<string, ChangeExecutor>>,
    /** Checks `approvals:decide`; absent only where nothing authenticates (unit tests of the gate). */
    private readonly authorizer?: Authorizer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Applies the change at once, or records it for approval when the environment requires one. */
  async submit<T>(change: ChangeRequest, apply: () => Promise<T>): Promise<{ applied: T } | { approval: Approval }> {
    const environment = await this.store.environments.get(change.environment).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND')
        ? new InvalidArgumentError(`environment: no environment named ${JSON.stringify(change.environment)}`)
        : e;
    });
    if (!environment.policies.requiresApproval) return { applied: await apply() };
    if (this.executors[change.action] === undefined)
      throw new InvalidArgumentError(`action: ${change.action} cannot be approved`);
    await change.precheck?.();
    const at = this.now().toISOString();
    const approval = await this.store.approvals.create({
      id: `${at}-${randomBytes(4).toString('hex')}`,
      environment: change.environment,
      deploymentName: change.deploymentName,
      action: change.action,
      request: change.request,
      summary: change.summary,
      requestedBy: change.actor,
      requester: partyOf(change.actor),
      requestedAt: at,
      state: 'pending',
      ...(change.reason === undefined ? {} : { reason: change.reason }),
    });
    return { approval };
  }

  /** Approvals, newest last; filter by environment and state (in the query, so pages stay full). */
  async list(
    filter: { environment?: string; state?: Approval['state'] } = {},
    page: { limit?: number; continue?: string } = {},
  ): Promise<Page<Approval>> {
    return this.store.approvals.list({
      ...(filter.environment ? { environment: filter.environment } : {}),
      ...(filter.state ? { state: filter.state } : {}),
      ...page,
    });
  }

  async get(id: string): Promise<Approval> {
    return this.store.approvals.get(id).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND') ? new NotFoundError(`approval ${JSON.stringify(id)} not found`) : e;
    });
  }

  /**
   * Approves and applies a pending request. The decision is written first (so two approvers cannot
   * both apply it: the second gets a conflict), then the change is applied; if applying fails the
   * approval records `failed` with the reason and the error is rethrown.
   */
  async approve(id: string, actor: string, comment?: string): Promise<Approval> {
    const { pending, decider } = await this.#pending(id, actor, 'approve');
    const decided = await this.store.approvals.update({
      ...pending,
      state: 'approved',
      decidedBy: decider.name,
      decider,
      decidedAt: this.now().toISOString(),
      ...(comment ? { comment } : {}),
    });
    try {
      const reason = `${pending.reason ? `${pending.reason}; ` : ''}approved by ${decider.name}`;
      const result = await this.executors[pending.action]!(pending.request, { actor: pending.requestedBy, reason });
      const revision = (result as { revision?: number } | undefined)?.revision;
      return await this.store.approvals.update({
        ...decided,
        result: revision === undefined ? 'applied' : `applied as revision ${revision}`,
      });
    } catch (error) {
      await this.store.approvals.update({ ...decided, state: 'failed', result: (error as Error).message });
      throw error;
    }
  }

  /** Rejects a pending request; nothing is applied. */
  async reject(id: string, actor: string, comment?: string): Promise<Approval> {
    const { pending, decider } = await this.#pending(id, actor, 'reject');
    return this.store.approvals.update({
      ...pending,
      state: 'rejected',
      decidedBy: decider.name,
      decider,
      decidedAt: this.now().toISOString(),
      ...(comment ? { comment } : {}),
    });
  }

  async #pending(
    id: string,
    actor: string,
    verb: 'approve' | 'reject',
  ): Promise<{ pending: Approval; decider: ApprovalParty }> {
    const decider = partyOf(actor);
    if (decider.id === ANONYMOUS_PARTY_ID) {
      throw new PermissionDeniedError(
        `actor: say who ${verb}s (sign in, or with --auth none the header x-wharf-actor); anonymous decisions are not accepted`,
      );
    }
    const approval = await this.get(id);
    if (approval.state !== 'pending') throw new InvalidArgumentError(`id: approval ${id} is already ${approval.state}`);
    const requesterId = approval.requester?.id ?? legacyId(approval.requestedBy);
    const own = requesterId === decider.id;
    if (own && verb === 'approve')
      throw new PermissionDeniedError(
        `permission denied: ${decider.name} requested this change and cannot approve it; another person must`,
      );
    const principal = currentRequest()?.principal;
    if (principal !== undefined && this.authorizer !== undefined)
      await this.authorizer.check(principal, 'approvals:decide', { environment: approval.environment });
    return { pending: approval, decider };
  }
}

const ANONYMOUS_PARTY_ID = 'name:anonymous';

/** The id that stands for a bare actor name, where no principal authenticated the request. */
function legacyId(name: string): string {
  return `name:${name}`;
}

/**
 * Who is acting: the request's principal, or, where there is none or it is the anonymous one of
 * `--auth none`, the actor name the caller gave.
 */
function partyOf(actor: string): ApprovalParty {
  const principal = currentRequest()?.principal;
  if (principal !== undefined && principal.type !== 'anonymous') return { id: principal.id, name: principal.name };
  const name = typeof actor === 'string' && actor !== '' ? actor : 'anonymous';
  return { id: legacyId(name), name };
}
