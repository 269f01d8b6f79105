/**
 * Helpers for the model server's end-to-end tests: fixture model files in a temp directory, HTTP
 * calls with a bounded time, polling, and a small Prometheus text-format parser.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FixturePaths, writeDemoModels, writeFixtureModels } from '../../src/demo/write-demo-models.js';
import { type ModelServerProcess, startModelServer, type WharfProcess } from './processes.js';

/** Demo and fixture model files written into a fresh temp directory. */
export interface ModelFiles extends FixturePaths {
  readonly dir: string;
  readonly readmission: string;
  readonly mlp: string;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

/** Writes every demo and fixture model into a new temp directory. */
export async function writeModelFiles(prefix = 'wharf-serving-test-'): Promise<ModelFiles> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const demo = await writeDemoModels(dir);
  const fixtures = await writeFixtureModels(dir);
  return { dir, ...demo, ...fixtures, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Starts one model server per argument list, all at once. Every server that started is added to
 * `started` (so an `after` hook can stop it) even when another fails; then rejects with the first
 * failure, or resolves with the servers in argument order.
 */
export async function startModelServers<const A extends readonly (readonly string[])[]>(
  argLists: A,
  started: ModelServerProcess[],
): Promise<{ -readonly [K in keyof A]: ModelServerProcess }> {
  const results = await Promise.allSettled(argLists.map((args) => startModelServer(args)));
  for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<ModelServerProcess>).value) as {
    -readonly [K in keyof A]: ModelServerProcess;
  };
}

/** Stops every server in `started` (SIGTERM, then SIGKILL after 5 s) and empties the list. */
export async function stopAll(started: ModelServerProcess[]): Promise<void> {
  await Promise.all(started.splice(0).map((s) => s.stop(5_000)));
}

/** Ends a process started with startWharf: `signal` now, SIGKILL after `timeoutMs`. Resolves with its exit code. */
export async function terminate(
  proc: WharfProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 5_000,
): Promise<number | string> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A finished HTTP exchange. */
export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** Options for {@link http}. */
export interface HttpOptions {
  method?: string;
  /** A string is sent as is; anything else is JSON-encoded. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Abort after this long (default 10 s). */
  timeoutMs?: number;
}

/** One request with global fetch; never hangs longer than `timeoutMs`. */
export async function http(url: string, options: HttpOptions = {}): Promise<HttpResult> {
  const { method = options.body === undefined ? 'GET' : 'POST', body, headers = {}, timeoutMs = 10_000 } = options;
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (!('content-type' in headers)) init.headers = { 'content-type': 'application/json', ...headers };
  }
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Parses a response body as JSON, failing the test with the body when it is not JSON. */
export function jsonOf(res: HttpResult): unknown {
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    assert.fail(`response (${res.status}) is not JSON: ${res.text.slice(0, 300)}`);
  }
}

/**
 * Asserts `res` is a protocol error: the given status, a JSON content type and a body of exactly
 * `{"error": string}` with no stack trace. Returns the message.
 */
export function expectError(res: HttpResult, status: number): string {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, 'error content type');
  const body = jsonOf(res);
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `error body is an object: ${res.text}`);
  assert.deepEqual(Object.keys(body), ['error'], `error body has only "error": ${res.text}`);
  const message = (body as { error: unknown }).error;
  assert.equal(typeof message, 'string', 'error is a string');
  assert.ok((message as string).length > 0, 'error message is not empty');
  assert.ok(!res.text.includes('    at '), `no stack trace in the body: ${res.text}`);
  return message as string;
}

/** Resolves like `promise`, or fails with `what` if it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One sample line of the Prometheus text format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the sample lines of a Prometheus text exposition (comments are skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    assert.ok(m, `unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/**
 * The value of the one sample named `name` whose labels include `labels`; undefined when there is
 * none; fails when several match.
 */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${found.length} samples match ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Fetches and parses GET {url}/metrics. */
export async function scrape(url: string): Promise<Sample[]> {
  const res = await http(`${url}/metrics`);
  assert.equal(res.status, 200, `/metrics: ${res.text.slice(0, 200)}`);
  return parseMetrics(res.text);
}
