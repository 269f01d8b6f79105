/**
 * The watch loop shared by every backend: read the `changes` table past a cursor, yield each row,
 * then sleep until a notification or the safety-net poll. The feed itself is the table, so a lost
 * notification only delays delivery; nothing is skipped and nothing is delivered twice.
 */
import type { ResourceKind } from '../core/resources.js';
import type { Change, WatchOptions } from './store.js';

/** Rows fetched per query while catching up. */
const BATCH = 500;

/** Wakes watchers when new changes may have committed. Carries no data: watchers re-read the table. */
export class ChangeNotifier {
  readonly #listeners = new Set<() => void>();

  /** Calls `listener` on every {@link notify} until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** What the watch loop needs from a store. */
export interface ChangeSource {
  changes(since: number, options: { limit: number; kinds?: readonly ResourceKind[] }): Promise<Change[]>;
  latestSequence(): Promise<number>;
}

/** The watch loop's settings, fixed by the backend. */
export interface WatchSettings {
  notifier: ChangeNotifier;
  /** Longest sleep between reads when no notification comes. */
  pollIntervalMs: number;
  /** Resolves once notifications are being received (PostgreSQL: LISTEN is in place). */
  ready?: () => Promise<void>;
}

/** Yields changes after `options.since` in order until `options.signal` aborts (see `Store.watch`). */
export async function* watchChanges(
  source: ChangeSource,
  settings: WatchSettings,
  options: WatchOptions,
): AsyncGenerator<Change> {
  const { signal, kinds } = options;
  const aborted = (): boolean => signal?.aborted === true;
  let pending: boolean;
  let wake: (() => void) | undefined;
  // Subscribe before the first read: a notification between a read and the sleep sets `pending`.
  const unsubscribe = settings.notifier.subscribe(() => {
    pending = true;
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    await settings.ready?.();
    let cursor = options.since ?? (await source.latestSequence());
    while (!aborted()) {
      pending = false;
      let batch: Change[];
      try {
        batch = await source.changes(cursor, { limit: BATCH, kinds });
      } catch (error) {
        if (aborted()) return; // the store closed under us: that is the end, not an error
        throw error;
      }
      for (const change of batch) {
        if (aborted()) return;
        cursor = change.sequence;
        yield change;
      }
      if (batch.length === BATCH || pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        if (aborted()) wake();
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener('abort', onAbort);
  }
}
