/** Polls `fn` every 100 ms until it returns a value (errors count as "not yet"), or fails after `timeoutMs`. */
import { setTimeout as sleep } from 'node:timers/promises';

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
