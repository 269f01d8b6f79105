/**
 * Measures one target: start it, check one answer, then warm up and run wrk at each concurrency,
 * and stop it whatever happens. Only one server runs at a time so it has a core to itself.
 */
import { postJson } from './http.js';
import type { Target } from './targets.js';
import { runWrk, writePostScript, type WrkResult } from './wrk.js';

/** A value the target returned next to the value it should have returned. */
export interface Verification {
  status: number;
  /** First output value of the target's answer. */
  value: number;
  /** What it was compared with, and where that came from (e.g. `baseline`). */
  expected?: number;
  expectedFrom?: string;
  responseBytes: number;
  ok: boolean;
  message: string;
}

/** One measured wrk run. */
export interface Run extends WrkResult {
  rowsPerSec: number;
}

/** Everything measured for one target; `error` is set when it could not be measured fully. */
export interface TargetReport {
  id: string;
  label: string;
  verification?: Verification;
  runs: Run[];
  error?: string;
}

/** How to measure. `reference` returns the value to compare the first output with, if any. */
export interface MeasureOptions {
  scriptDir: string;
  concurrencies: readonly number[];
  duration: string;
  warmup: string;
  tolerance: number;
  reference(): { value: number; from: string } | undefined;
  /** Progress lines go here (stderr), so stdout keeps only the results. */
  log(line: string): void;
}

/** Checks the target's answer to its body: status 200, numeric output, equal to the reference within tolerance. */
async function verify(target: Target, url: string, opts: MeasureOptions): Promise<Verification> {
  const res = await postJson(url, target.body, undefined, target.headers);
  const responseBytes = Buffer.byteLength(res.text);
  const fail = (message: string): Verification => ({
    status: res.status,
    value: NaN,
    responseBytes,
    ok: false,
    message,
  });
  if (res.status !== 200) return fail(`status ${res.status}: ${res.text.slice(0, 300)}`);
  let value: number | undefined;
  try {
    value = target.outputs(res.json)[0];
  } catch (err) {
    return fail((err as Error).message);
  }
  if (value === undefined || !Number.isFinite(value))
    return fail(`output is not a finite number: ${res.text.slice(0, 300)}`);
  const ref = opts.reference();
  if (!ref) return { status: 200, value, responseBytes, ok: true, message: `200, output ${value} (no reference yet)` };
  const diff = Math.abs(value - ref.value);
  const ok = diff <= opts.tolerance;
  const message = `200, output ${value} vs ${ref.from} ${ref.value} (|diff| ${diff.toExponential(1)}, ${ok ? 'within' : 'NOT within'} ${opts.tolerance})`;
  return { status: 200, value, expected: ref.value, expectedFrom: ref.from, responseBytes, ok, message };
}

/** Starts, verifies and measures `target`; never throws, failures are reported in `error`. */
export async function measureTarget(target: Target, opts: MeasureOptions): Promise<TargetReport> {
  const report: TargetReport = { id: target.id, label: target.label, runs: [] };
  const server = await target.start().catch((err: Error) => {
    report.error = `could not start: ${err.message}`;
    return undefined;
  });
  if (!server) return report;
  try {
    const url = server.url + target.path;
    report.verification = await verify(target, url, opts);
    opts.log(`verify ${target.label}: ${report.verification.message}; ${report.verification.responseBytes} B response`);
    if (!report.verification.ok) throw new Error(`verification failed: ${report.verification.message}`);
    const scriptPath = await writePostScript(
      opts.scriptDir,
      `${target.id}.lua`,
      target.body,
      undefined,
      target.headers,
    );
    for (const connections of opts.concurrencies) {
      // Warm-up at the same concurrency: JIT, connection setup and any pools reach steady state first.
      await runWrk({ url, scriptPath, connections, duration: opts.warmup });
      const result = await runWrk({ url, scriptPath, connections, duration: opts.duration });
      report.runs.push({ ...result, rowsPerSec: result.requestsPerSec * target.rowsPerRequest });
      opts.log(
        `  c${connections}: ${Math.round(result.requestsPerSec)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`,
      );
    }
  } catch (err) {
    report.error = (err as Error).message;
  } finally {
    await server.stop();
  }
  return report;
}

/** The run of `report` at `connections`, if it was measured. */
export function runAt(report: TargetReport | undefined, connections: number): Run | undefined {
  return report?.runs.find((r) => r.connections === connections);
}
