/**
 * The object store of the test API server (`fake-kube-api.ts`), with Kubernetes' semantics for
 * what the runtime relies on:
 *
 * - **resourceVersion**: one counter for the whole store, bumped by every change and only by a
 *   change; lists carry the counter at the time of the list, so a watch can start right after it.
 * - **server-side apply**: each field manager's applied configuration is kept; the object is the
 *   merge of all of them over the server-owned fields (metadata.uid…, status). A manager that
 *   stops applying a field gives it up (it disappears unless another manager owns it). Applying a
 *   leaf that another manager owns with a different value is a 409 conflict unless `force`, which
 *   takes the field over. An apply that changes nothing bumps nothing and notifies nobody.
 *   Simplification: lists are atomic (as `+listType=atomic`), not merged by key.
 * - **generation**: bumped when `spec` changes.
 * - **watch events**: ADDED / MODIFIED / DELETED, kept for replay from a resourceVersion; asking
 *   for one older than the retained window gets 410 Gone, like a compacted etcd.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

/** Any stored object. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    managedFields?: unknown[];
    [field: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

/** A watch event. */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KObject;
  readonly rv: number;
  readonly resource: string;
}

/** A failed request, as the API server answers it (`kind: Status`). */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
  /** The `Status` body. */
  body(): unknown {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

interface Entry {
  object: KObject;
  /** Applied configuration per field manager, in first-apply order. */
  managers: Map<string, Record<string, unknown>>;
}

const HISTORY = 2_000;

/** See the module comment. `resource` keys are `group/version/plural` (core group: `/v1/pods`). */
export class FakeKubeStore {
  private rv = 1;
  /** Events at or before this resourceVersion are forgotten. */
  private compactedAt = 0;
  private readonly objects = new Map<string, Map<string, Entry>>();
  private readonly history: WatchEvent[] = [];
  /** Emits `event` (WatchEvent) after every change. */
  readonly events = new EventEmitter();
  /** How many changes (resourceVersion bumps) happened. */
  changes = 0;

  constructor() {
    this.events.setMaxListeners(0);
  }

  /** The current resourceVersion. */
  get resourceVersion(): number {
    return this.rv;
  }

  get(resource: string, namespace: string, name: string): KObject | undefined {
    const entry = this.objects.get(resource)?.get(`${namespace}/${name}`);
    return entry && structuredClone(entry.object);
  }

  list(
    resource: string,
    namespace: string | undefined,
    selector: (labels: Record<string, string>) => boolean = () => true,
  ): KObject[] {
    return [...(this.objects.get(resource)?.values() ?? [])]
      .filter(
        (e) =>
          (namespace === undefined || e.object.metadata.namespace === namespace) &&
          selector(e.object.metadata.labels ?? {}),
      )
      .map((e) => structuredClone(e.object));
  }

  /** Server-side apply of `config` by `manager` (see the module comment). */
  apply(resource: string, namespace: string, config: KObject, manager: string, force: boolean): KObject {
    const map = this.bucket(resource);
    const id = `${namespace}/${config.metadata.name}`;
    const applied = stripServerFields(config);
    const existing = map.get(id);
    if (!existing) {
      const now = new Date().toISOString();
      const server = { uid: randomUUID(), creationTimestamp: now, generation: 1 };
      const entry: Entry = {
        object: { ...applied, metadata: { ...applied.metadata, namespace, ...server } } as KObject,
        managers: new Map([[manager, applied]]),
      };
      map.set(id, entry);
      this.commit(resource, entry, 'ADDED');
      return structuredClone(entry.object);
    }
    const conflicts: string[] = [];
    for (const [other, theirs] of existing.managers) {
      if (other === manager) continue;
      for (const path of sharedLeaves(applied, theirs)) {
        if (force) deletePath(theirs, path);
        else conflicts.push(`conflict with "${other}": .${path.join('.')}`);
      }
    }
    if (conflicts.length > 0) {
      throw new StatusError(
        409,
        'Conflict',
        `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join(', ')}`,
        {
          causes: conflicts.map((message) => ({ type: 'FieldManagerConflict', message })),
        },
      );
    }
    existing.managers.set(manager, applied);
    const next = this.merged(existing);
    if (sameContent(next, existing.object)) return structuredClone(existing.object);
    if (JSON.stringify(next.spec) !== JSON.stringify(existing.object.spec))
      next.metadata.generation = (existing.object.metadata.generation ?? 1) + 1;
    existing.object = next;
    this.commit(resource, existing, 'MODIFIED');
    return structuredClone(existing.object);
  }

  /** Creates an object owned by the server itself (pods made by the simulated controllers). */
  create(resource: string, object: KObject): KObject {
    const map = this.bucket(resource);
    const id = `${object.metadata.namespace}/${object.metadata.name}`;
    if (map.has(id))
      throw new StatusError(409, 'AlreadyExists', `${object.kind} "${object.metadata.name}" already exists`);
    const entry: Entry = {
      object: structuredClone({
        ...object,
        metadata: { ...object.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString(), generation: 1 },
      }),
      managers: new Map(),
    };
    map.set(id, entry);
    this.commit(resource, entry, 'ADDED');
    return structuredClone(entry.object);
  }

  /** Changes server-owned parts (status, deletionTimestamp) through `mutate`; no-op changes are dropped. */
  update(resource: string, namespace: string, name: string, mutate: (object: KObject) => void): KObject | undefined {
    const entry = this.objects.get(resource)?.get(`${namespace}/${name}`);
    if (!entry) return undefined;
    const next = structuredClone(entry.object);
    mutate(next);
    if (sameContent(next, entry.object)) return structuredClone(entry.object);
    entry.object = next;
    this.commit(resource, entry, 'MODIFIED');
    return structuredClone(entry.object);
  }

  /** Removes the object now; returns it, or undefined when there was none. */
  remove(resource: string, namespace: string, name: string): KObject | undefined {
    const map = this.objects.get(resource);
    const entry = map?.get(`${namespace}/${name}`);
    if (!map || !entry) return undefined;
    map.delete(`${namespace}/${name}`);
    this.commit(resource, entry, 'DELETED');
    return structuredClone(entry.object);
  }

  /**
   * Events of `resource` after resourceVersion `since`, oldest first. Throws 410 Gone when `since`
   * is older than the retained history (the client must list again).
   */
  eventsSince(resource: string, since: number): WatchEvent[] {
    if (since < this.compactedAt) {
      throw new StatusError(410, 'Expired', `too old resource version: ${since} (${this.compactedAt})`);
    }
    return this.history.filter((e) => e.rv > since && e.resource === resource);
  }

  /** Forgets the event history, so every watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compactedAt = this.rv;
  }

  private merged(entry: Entry): KObject {
    let out: Record<string, unknown> = {};
    for (const config of entry.managers.values()) out = deepMerge(out, config);
    const current = entry.object;
    const server = pick(current.metadata, [
      'namespace',
      'uid',
      'creationTimestamp',
      'generation',
      'deletionTimestamp',
      'ownerReferences',
    ]);
    const metadata = { ...(out.metadata as object), ...server };
    return { ...out, metadata, ...(current.status === undefined ? {} : { status: current.status }) } as KObject;
  }

  private commit(resource: string, entry: Entry, type: WatchEvent['type']): void {
    this.rv += 1;
    this.changes += 1;
    entry.object.metadata.resourceVersion = String(this.rv);
    entry.object.metadata.managedFields = [...entry.managers].map(([manager, config]) => ({
      manager,
      operation: 'Apply',
      apiVersion: entry.object.apiVersion,
      fieldsType: 'FieldsV1',
      fieldsV1: fieldSet(config),
    }));
    const event: WatchEvent = { type, object: structuredClone(entry.object), rv: this.rv, resource };
    this.history.push(event);
    if (this.history.length > HISTORY) this.compactedAt = this.history.shift()!.rv;
    this.events.emit('event', event);
  }

  private bucket(resource: string): Map<string, Entry> {
    let map = this.objects.get(resource);
    if (!map) this.objects.set(resource, (map = new Map()));
    return map;
  }
}

/** The applied configuration without what only the server sets. */
function stripServerFields(config: KObject): KObject {
  const copy = structuredClone(config);
  for (const f of [
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'managedFields',
    'namespace',
  ])
    delete copy.metadata[f];
  delete copy.status;
  return copy;
}

/** Equal apart from resourceVersion and managedFields. */
function sameContent(a: KObject, b: KObject): boolean {
  const strip = (o: KObject): unknown => ({
    ...o,
    metadata: { ...o.metadata, resourceVersion: undefined, managedFields: undefined },
  });
  return JSON.stringify(canonical(strip(a))) === JSON.stringify(canonical(strip(b)));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, x]) => [k, canonical(x)]),
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over))
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k], v) : structuredClone(v);
  return out;
}

/** Leaf paths both configurations set, with different values (apiVersion/kind/name excluded). */
function sharedLeaves(a: Record<string, unknown>, b: Record<string, unknown>, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(a)) {
    if (!(k in b)) continue;
    const path = [...prefix, k];
    if (isObject(v) && isObject(b[k])) out.push(...sharedLeaves(v, b[k], path));
    else if (
      JSON.stringify(v) !== JSON.stringify(b[k]) &&
      !['apiVersion', 'kind', 'metadata.name'].includes(path.join('.'))
    )
      out.push(path);
  }
  return out;
}

function deletePath(o: Record<string, unknown>, path: string[]): void {
  let cur: unknown = o;
  for (const k of path.slice(0, -1)) cur = isObject(cur) ? cur[k] : undefined;
  if (isObject(cur)) delete cur[path.at(-1)!];
}

/** FieldsV1 form (`f:<name>` keys) of the fields a configuration sets. */
function fieldSet(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [`f:${k}`, isObject(v) ? fieldSet(v) : {}]));
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

/**
 * A label selector predicate for `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`;
 * throws 400 on anything else.
 */
export function parseSelector(text: string | null): (labels: Record<string, string>) => boolean {
  if (!text) return () => true;
  const terms = text.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  const tests = terms.map((raw) => {
    const term = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term))) {
      const [, k, op, v] = m;
      return (l: Record<string, string>) => (op === '!=' ? l[k!] !== v : l[k!] === v);
    }
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const [, k, op, list] = m;
      const values = list!.split(',').map((s) => s.trim());
      return (l: Record<string, string>) => (op === 'in') === (l[k!] !== undefined && values.includes(l[k!]!));
    }
    if ((m = /^(!?)([\w./-]+)$/.exec(term))) {
      const [, not, k] = m;
      return (l: Record<string, string>) => (not ? !(k! in l) : k! in l);
    }
    throw new StatusError(400, 'BadRequest', `unable to parse requirement: ${term}`);
  });
  return (labels) => tests.every((t) => t(labels));
}
