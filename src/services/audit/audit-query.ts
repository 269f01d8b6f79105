/**
 * Reading the audit trail: a filtered list in chain order (since a time, by actor, action,
 * resource, environment), paged with `limit`/`continue`, and the whole chain as JSON Lines for an
 * auditor's own tools. Environment and actor id are indexed columns; the other filters are applied
 * while paging, so a page may scan more events than it returns.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { type AuditEvent, auditSeqKey } from '../../core/resources/audit-event.js';
import { continueAfterKey } from '../../store/kysely-collection.js';
import type { Store } from '../../store/store.js';
import { chainEvents } from './verifier.js';

/** Filters of {@link listAuditEvents}; all optional, combined with AND. */
export interface AuditListFilter {
  /** ISO time: events at or after it. */
  since?: string;
  /** A principal id (`user:…`) or name. */
  actor?: string;
  /** An action (`deployments.create`) or a prefix ending in `.` (`deployments.`). */
  action?: string;
  /** `kind/name` (`deployment/risk`), a kind, or a name. */
  resource?: string;
  environment?: string;
  outcome?: AuditEvent['outcome'];
  /** 1 … 1000, default 100. */
  limit?: number;
  continue?: string;
}

/** One page of events. */
export interface AuditPage {
  items: AuditEvent[];
  continue?: string;
}

const SCAN_PAGE = 500;

function decodeAfter(token: string): number {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { afterSeq?: unknown };
    if (Number.isSafeInteger(v.afterSeq) && (v.afterSeq as number) >= 0) return v.afterSeq as number;
  } catch {
    // below
  }
  throw new InvalidArgumentError('continue: not a token returned by a previous audit list');
}

function matches(event: AuditEvent, f: AuditListFilter, since: number | undefined): boolean {
  if (since !== undefined && Date.parse(event.time) < since) return false;
  if (f.actor !== undefined && event.actor.id !== f.actor && event.actor.name !== f.actor) return false;
  if (
    f.action !== undefined &&
    (f.action.endsWith('.') ? !event.action.startsWith(f.action) : event.action !== f.action)
  )
    return false;
  if (f.outcome !== undefined && event.outcome !== f.outcome) return false;
  if (f.resource !== undefined) {
    const slash = f.resource.indexOf('/');
    const ok =
      slash >= 0
        ? `${event.resource.kind}/${event.resource.name ?? ''}` === f.resource
        : event.resource.kind === f.resource || event.resource.name === f.resource;
    if (!ok) return false;
  }
  return true;
}

/**
 * A page of the events that match, oldest first.
 *
 * @example
 *   await listAuditEvents(store, { actor: 'alice', action: 'deployments.', limit: 20 });
 */
export async function listAuditEvents(store: Store, filter: AuditListFilter = {}): Promise<AuditPage> {
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new InvalidArgumentError(`limit: must be an integer from 1 to 1000, got ${limit}`);
  let since: number | undefined;
  if (filter.since !== undefined) {
    since = Date.parse(filter.since);
    if (Number.isNaN(since)) throw new InvalidArgumentError(`since: must be an ISO-8601 time, got ${filter.since}`);
  }
  const after = filter.continue === undefined ? 0 : decodeAfter(filter.continue);
  // An actor id (with its `:` or the bare `anonymous`) is an indexed column; a name is matched while paging.
  const indexedActor =
    filter.actor !== undefined && (filter.actor.includes(':') || filter.actor === 'anonymous')
      ? filter.actor
      : undefined;
  const items: AuditEvent[] = [];
  let next: string | undefined = after > 0 ? continueAfterKey(auditSeqKey(after)) : undefined;
  for (;;) {
    const page = await store.auditEvents.list({
      limit: SCAN_PAGE,
      ...(filter.environment === undefined ? {} : { environment: filter.environment }),
      ...(indexedActor === undefined ? {} : { actor: indexedActor }),
      ...(next === undefined ? {} : { continue: next }),
    });
    for (const event of page.items) {
      if (!matches(event, filter, since)) continue;
      items.push(event);
      if (items.length === limit) {
        const more = page.items.at(-1) !== event || page.continue !== undefined;
        return more
          ? { items, continue: Buffer.from(JSON.stringify({ afterSeq: event.seq })).toString('base64url') }
          : { items };
      }
    }
    if (page.continue === undefined) return { items };
    next = page.continue;
  }
}

/** The whole chain, oldest first, one JSON object per line (the stored fields, hashes included). */
export async function* exportAuditJsonLines(store: Store): AsyncGenerator<string> {
  for await (const event of chainEvents(store)) {
    const { resourceVersion: _, ...fields } = event;
    yield `${JSON.stringify(fields)}\n`;
  }
}
