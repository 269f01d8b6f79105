/**
 * Per-key serialisation for engines: tasks for one key (apply, remove of one workload) run one
 * after another, tasks for different keys run concurrently, and a failed task does not block the
 * next. Idle keys hold no memory.
 *
 * @example
 *   const serial = new KeyedSerial();
 *   await serial.run(workloadKeyString(key), () => this.#apply(workload));
 */
export class KeyedSerial {
  readonly #queues = new Map<string, Promise<unknown>>();

  /** Runs `task` after every earlier task of `key` has settled; resolves or rejects with it. */
  run<T>(key: string, task: () => T | Promise<T>): Promise<T> {
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.#queues.set(key, settled);
    void settled.then(() => {
      if (this.#queues.get(key) === settled) this.#queues.delete(key);
    });
    return next;
  }

  /** Resolves once every task queued so far has settled (for close). */
  async idle(): Promise<void> {
    await Promise.all(this.#queues.values());
  }
}
