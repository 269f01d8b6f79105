/**
 * `Runtime.onChange` listeners, told soon after a workload's replicas changed: announcements of one
 * key are coalesced until the next turn of the event loop (setImmediate), so a burst (a scale-up
 * starting five replicas) is one call per listener, and listeners never run inside the runtime's
 * own state changes.
 */
import { type WorkloadKey, workloadKeyString } from '../runtime.js';

/** Listener registry with per-key coalescing. */
export class ChangeNotifier {
  private readonly listeners = new Set<(key: WorkloadKey) => void>();
  private readonly pending = new Map<string, WorkloadKey>();

  /** Adds `listener`; returns the function that removes it. */
  subscribe(listener: (key: WorkloadKey) => void): () => void {
    // A wrapper per subscription: the same function subscribed twice is two subscriptions.
    const entry = (key: WorkloadKey): void => listener(key);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Schedules one call of every listener with `key`, unless one is already scheduled. */
  announce(key: WorkloadKey): void {
    if (this.listeners.size === 0) return;
    const id = workloadKeyString(key);
    if (this.pending.has(id)) return;
    this.pending.set(id, key);
    setImmediate(() => {
      this.pending.delete(id);
      for (const listener of [...this.listeners]) {
        try {
          listener(key);
        } catch {
          // A failing listener must not stop the others, nor the runtime that announced.
        }
      }
    });
  }
}
