/**
 * The one way tests wait: `eventually` polls for a positive signal, `consistently` checks that
 * something keeps holding, and `letTimePass` names the few waits whose point is that real time
 * passes (the code under test measures it). Every probe is "probe first, options second".
 *
 * A probe passes when it returns a truthy value and does not throw; a throwing assert, or a
 * falsy/undefined result, means "not yet". On timeout `eventually` throws the probe's last error,
 * so the failure says what was wrong rather than only that time ran out.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** How long to keep trying before failing. */
  readonly timeoutMs: number;
  /** The pause between tries (default 10 ms). */
  readonly intervalMs?: number;
  /** What is being waited for; names the failure. */
  readonly message?: string | (() => string);
}

/**
 * Thrown by a probe when waiting longer cannot help (the process under test exited): `eventually`
 * rethrows it at once instead of retrying until the timeout.
 */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/** A probe's value once it passed: neither falsy nor undefined. */
export type Passed<T> = Exclude<Awaited<T>, false | 0 | '' | null | undefined>;

/** Retries `probe` until it returns a truthy value without throwing, and returns that value ({@link GiveUp} ends it early). */
export async function eventually<T>(
  probe: () => T,
  { timeoutMs, intervalMs = 10, message }: EventuallyOptions,
): Promise<Passed<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      const value = await probe();
      if (value) return value as Passed<T>;
      failure = new assert.AssertionError({ message: `the probe returned ${describe(value)}` });
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      failure = err;
    }
    if (Date.now() >= deadline) throw timedOut(failure, timeoutMs, message);
    await sleep(intervalMs);
  }
}

/**
 * Runs `probe` every `intervalMs` for `ms` and fails at the first try that throws or returns a
 * falsy value. Proves something only after the test has seen that the code under test had its
 * chance to act (a later event processed, a counter advanced); say in a comment what it proves.
 */
export async function consistently(
  ms: number,
  probe: () => unknown,
  { intervalMs = 10, message }: Omit<EventuallyOptions, 'timeoutMs'> = {},
): Promise<void> {
  const start = Date.now();
  for (;;) {
    const where = `after ${Date.now() - start} ms of ${ms}`;
    let value: unknown;
    try {
      value = await probe();
    } catch (err) {
      throw prefixed(err, where, message);
    }
    if (!value) assert.fail(`${label(message)}${where}: the probe returned ${describe(value)}`);
    if (Date.now() - start >= ms) return;
    await sleep(intervalMs);
  }
}

/**
 * Lets `ms` of real time pass because the code under test measures time (a latency fault, a
 * window, an idle timeout) — not to wait for something to happen; use `eventually` for that.
 * `why` says which clock the wait feeds.
 */
export async function letTimePass(ms: number, why: string): Promise<void> {
  void why;
  await sleep(ms);
}

function timedOut(failure: unknown, timeoutMs: number, message: EventuallyOptions['message']): unknown {
  return prefixed(failure, `timed out after ${timeoutMs} ms`, message);
}

/** The probe's own error (its stack, actual and expected kept), its message prefixed with where and what. */
function prefixed(err: unknown, where: string, message: EventuallyOptions['message']): unknown {
  if (err instanceof Error) {
    err.message = `${label(message)}${where}: ${err.message}`;
    return err;
  }
  return new Error(`${label(message)}${where}: ${String(err)}`);
}

function label(message: EventuallyOptions['message']): string {
  const text = typeof message === 'function' ? message() : message;
  return text ? `${text}: ` : '';
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
