/**
 * Runs wrk (the Debian package, 4.x) against one URL with a fixed POST body, and parses its text report.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './processes.js';

/** What one wrk run measured. Latencies are in milliseconds. */
export interface WrkResult {
  connections: number;
  /** Requests completed (wrk counts a response whatever its status). */
  requests: number;
  durationS: number;
  requestsPerSec: number;
  p50Ms: number;
  p75Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Responses whose status was not 2xx or 3xx. */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

/** How to drive one run. */
export interface WrkOptions {
  /** Full URL including the path, e.g. `http://127.0.0.1:8000/predict`. */
  url: string;
  /** A script written by {@link writePostScript}. */
  scriptPath: string;
  connections: number;
  /** wrk duration syntax: `10s`, `2m`. */
  duration: string;
  /** Per-request timeout; a request slower than this counts as a socket timeout, not as a latency. */
  timeout?: string;
}

/**
 * Writes a wrk Lua script that sends `body` as a POST with `content-type` to `dir/name`.
 * The body is embedded as a Lua long string, whose level is chosen so the body cannot close it.
 *
 * @example
 * const script = await writePostScript(tmp, 'predict.lua', '{"instances":[[1,2]]}');
 */
export async function writePostScript(
  dir: string,
  name: string,
  body: string,
  contentType = 'application/json',
  headers: Readonly<Record<string, string>> = {},
): Promise<string> {
  let level = '=';
  while (body.includes(`]${level}]`)) level += '=';
  const lua = [
    'wrk.method = "POST"',
    `wrk.headers["Content-Type"] = ${JSON.stringify(contentType)}`,
    ...Object.entries(headers).map(
      ([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`,
    ),
    `wrk.body = [${level}[${body}]${level}]`,
    '',
  ].join('\n');
  const path = join(dir, name);
  await writeFile(path, lua);
  return path;
}

/** Converts a wrk duration such as `635.91us`, `1.02ms` or `2.00s` to milliseconds. */
export function parseWrkDuration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`unrecognised wrk duration: ${JSON.stringify(text)}`);
  const factor = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 }[match[2] as 'us' | 'ms' | 's' | 'm' | 'h'];
  // Rounded to the nanosecond so unit conversion leaves no float noise (0.697, not 0.6970000000000001).
  return Math.round(Number(match[1]) * factor * 1e6) / 1e6;
}

/** Returns the numeric capture of `re` in `text`, or throws naming what was missing. */
function need(text: string, re: RegExp, what: string): RegExpExecArray {
  const match = re.exec(text);
  if (!match) throw new Error(`wrk output has no ${what}:\n${text}`);
  return match;
}

/**
 * Parses the report of `wrk --latency`. The "Socket errors" and "Non-2xx" lines are printed only when
 * non-zero, so their absence means zero.
 */
export function parseWrkOutput(text: string, connections: number): WrkResult {
  const percentile = (p: number): number =>
    parseWrkDuration(need(text, new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, 'm'), `${p}% latency`)[1] ?? '');
  const total = need(text, /^\s*(\d+) requests in ([\d.]+\w+),/m, 'request count');
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    connections,
    requests: Number(total[1]),
    durationS: parseWrkDuration(total[2] ?? '') / 1000,
    requestsPerSec: Number(need(text, /^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    p50Ms: percentile(50),
    p75Ms: percentile(75),
    p90Ms: percentile(90),
    p99Ms: percentile(99),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: {
      connect: Number(errors?.[1] ?? 0),
      read: Number(errors?.[2] ?? 0),
      write: Number(errors?.[3] ?? 0),
      timeout: Number(errors?.[4] ?? 0),
    },
  };
}

/**
 * Runs `wrk -t1` (one thread: on a 2-core machine one core drives the load, the other serves it)
 * and returns the parsed report. Throws when wrk fails or completes no request at all.
 */
export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${opts.connections}`,
    `-d${opts.duration}`,
    `--timeout`,
    opts.timeout ?? '5s',
    '--latency',
    '-s',
    opts.scriptPath,
    opts.url,
  ];
  const result = await runCommand('wrk', args);
  if (result.code !== 0)
    throw new Error(`wrk ${args.join(' ')} exited with ${result.code}:\n${result.stderr}${result.stdout}`);
  const parsed = parseWrkOutput(result.stdout, opts.connections);
  if (parsed.requests === 0) throw new Error(`wrk completed no request against ${opts.url}:\n${result.stdout}`);
  return parsed;
}

/** The first line of `wrk --version` (which exits 1 by design), or `unknown`. */
export async function wrkVersion(): Promise<string> {
  const result = await runCommand('wrk', ['--version']).catch(() => undefined);
  return result?.stdout.split('\n')[0]?.trim() || 'unknown';
}

/**
 * A duration from the environment variable `name` in wrk's syntax: whole units (`10s`, `2m`, `1h`);
 * a bare number means seconds. Throws on anything else, so a typo does not silently run the default.
 */
export function durationFromEnv(name: string, fallback: string, env: NodeJS.ProcessEnv = process.env): string {
  const text = env[name]?.trim() || fallback;
  const match = /^(\d+)(s|m|h)?$/.exec(text);
  if (!match || Number(match[1]) <= 0)
    throw new Error(`${name} must be a whole positive duration like 10s or 2m, got ${JSON.stringify(text)}`);
  return `${match[1]}${match[2] ?? 's'}`;
}
