/**
 * In-process bookkeeping that keeps a failed push from deleting a blob that a concurrent push of
 * the same bytes is recording. Content addressing means two uploads share one file, so "my push
 * failed" is not enough reason to remove it.
 *
 * Protocol: a push {@link DigestLeases.acquire}s its digest as soon as its upload completes, waits
 * for {@link DigestLeases.settled} and then checks that the blob still exists (a deletion may have
 * been decided just before the lease). A failed push ends with {@link DigestLeases.releaseAndDelete},
 * which deletes only if, from before its reference check until the decision, nobody else held or
 * took a lease on the digest, and decides and registers the deletion in one synchronous step.
 *
 * This covers one process. Several control-plane processes sharing a blob root need a garbage
 * collector with a grace period instead of eager deletion.
 */

/** A hold on one digest; see {@link DigestLeases}. */
export interface DigestLease {
  readonly digest: string;
  /** Ends the hold; later calls do nothing. */
  release(): void;
}

interface Entry {
  held: number;
  /** Every acquire ever made while the entry existed: tells a cleanup whether anyone came and went. */
  acquisitions: number;
}

/** Leases on blob digests, for one registry in one process. */
export class DigestLeases {
  // An entry exists while someone holds the digest.
  readonly #entries = new Map<string, Entry>();
  readonly #deleting = new Map<string, Promise<unknown>>();

  /** Marks `digest` in use until the lease is released. */
  acquire(digest: string): DigestLease {
    const entry = this.#entries.get(digest) ?? { held: 0, acquisitions: 0 };
    entry.held++;
    entry.acquisitions++;
    this.#entries.set(digest, entry);
    let released = false;
    return {
      digest,
      release: () => {
        if (released) return;
        released = true;
        entry.held--;
        if (entry.held === 0) this.#entries.delete(digest);
      },
    };
  }

  /** Resolves once no deletion of `digest` is in progress. */
  async settled(digest: string): Promise<void> {
    await this.#deleting.get(digest)?.catch(() => undefined);
  }

  /**
   * Releases `lease` and runs `remove` if `isReferenced` says nothing stored refers to the digest and
   * no other lease was held or taken meanwhile. Returns whether `remove` ran.
   */
  async releaseAndDelete(
    lease: DigestLease,
    isReferenced: () => Promise<boolean>,
    remove: () => Promise<unknown>,
  ): Promise<boolean> {
    const { digest } = lease;
    const entry = this.#entries.get(digest);
    const mark = entry?.acquisitions;
    let referenced: boolean;
    try {
      referenced = await isReferenced();
    } catch (err) {
      lease.release();
      throw err;
    }
    // From here to registering the deletion there is no await: that is the whole guarantee.
    const untouched = entry !== undefined && entry.held === 1 && entry.acquisitions === mark;
    lease.release();
    if (referenced || !untouched || this.#deleting.has(digest)) return false;
    const running = remove();
    this.#deleting.set(digest, running);
    try {
      await running;
      return true;
    } finally {
      this.#deleting.delete(digest);
    }
  }
}
