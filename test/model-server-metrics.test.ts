// The model server's Prometheus metrics: the right families and labels after a known mix of
// successful and failed requests, and an exposition that `promtool check metrics` accepts cleanly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { READMISSION_FEATURES } from '../src/demo/readmission.js';
import { type ModelServerProcess, REPO_ROOT } from './support/processes.js';
import {
  http,
  type HttpResult,
  type ModelFiles,
  parseMetrics,
  type Sample,
  sampleValue,
  startModelServers,
  stopAll,
  writeModelFiles,
} from './support/serving.js';

const FEATURES = READMISSION_FEATURES.length;
const OK_REQUESTS = 5;
const BAD_REQUESTS = 3;
const LABELS = { model: 'readmission', version: '1' };

let files: ModelFiles | undefined;
const started: ModelServerProcess[] = [];
let server: ModelServerProcess;
let exposition: HttpResult;
let samples: Sample[];
/** Why promtool is unavailable, if it is. */
let promtoolMissing: string | undefined;

function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}

before(
  async () => {
    if (!hasPromtool()) {
      // Debian's prometheus package ships promtool; the script installs it (idempotent, needs root or sudo).
      const ensure = spawnSync(join(REPO_ROOT, 'scripts/ensure-debian-packages.sh'), ['prometheus'], {
        encoding: 'utf8',
        timeout: 10 * 60_000,
      });
      if (ensure.status !== 0) {
        promtoolMissing = `promtool is not available and installing Debian's prometheus package failed: ${(ensure.stderr || String(ensure.error ?? '')).trim().slice(-400)}`;
      } else if (!hasPromtool()) {
        promtoolMissing = "Debian's prometheus package is installed but promtool is not on PATH";
      }
    }

    files = await writeModelFiles();
    [server] = await startModelServers([['--model', files.readmission, '--name', 'readmission']], started);
    const infer = (body: unknown) => http(`${server.url}/v2/models/readmission/infer`, { body });
    const rows = (n: number) => ({
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [n, FEATURES], data: new Array<number>(n * FEATURES).fill(0.25) },
      ],
    });
    // 5 successes carrying 1+2+3+4+5 rows, and 3 failures (all 400).
    for (let n = 1; n <= OK_REQUESTS; n++) assert.equal((await infer(rows(n))).status, 200);
    for (const bad of [
      '{',
      { inputs: [] },
      { inputs: [{ name: 'input', datatype: 'FP8', shape: [1, FEATURES], data: [] }] },
    ]) {
      assert.equal((await infer(bad)).status, 400);
    }
    exposition = await http(`${server.url}/metrics`);
    assert.equal(exposition.status, 200);
    samples = parseMetrics(exposition.text);
  },
  { timeout: 15 * 60_000 },
);

after(async () => {
  await stopAll(started);
  await files?.cleanup();
});

test('GET /metrics is served as Prometheus text', () => {
  assert.match(exposition.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(exposition.text, /^# HELP /m);
});

test('wharf_inference_requests_total counts requests by model, version and status code', () => {
  assert.match(exposition.text, /^# TYPE wharf_inference_requests_total counter$/m);
  assert.equal(sampleValue(samples, 'wharf_inference_requests_total', { ...LABELS, code: '200' }), OK_REQUESTS);
  assert.equal(sampleValue(samples, 'wharf_inference_requests_total', { ...LABELS, code: '400' }), BAD_REQUESTS);
  const codes = samples
    .filter((s) => s.name === 'wharf_inference_requests_total')
    .map((s) => s.labels.code)
    .sort();
  assert.deepEqual(codes, ['200', '400']);
});

/** Checks a histogram family: TYPE line, cumulative buckets ending in +Inf, _sum and _count. Returns _count. */
function checkHistogram(name: string): { count: number; sum: number } {
  assert.match(exposition.text, new RegExp(`^# TYPE ${name} histogram$`, 'm'), `${name} is a histogram`);
  const buckets = samples.filter(
    (s) => s.name === `${name}_bucket` && s.labels.model === LABELS.model && s.labels.version === LABELS.version,
  );
  assert.ok(buckets.length >= 2, `${name} has buckets`);
  for (let i = 1; i < buckets.length; i++)
    assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${name} buckets are cumulative`);
  assert.equal(buckets.at(-1)!.labels.le, '+Inf');
  const count = sampleValue(samples, `${name}_count`, LABELS);
  const sum = sampleValue(samples, `${name}_sum`, LABELS);
  assert.equal(typeof count, 'number', `${name}_count`);
  assert.equal(typeof sum, 'number', `${name}_sum`);
  assert.equal(buckets.at(-1)!.value, count, `${name}: +Inf bucket equals _count`);
  return { count: count!, sum: sum! };
}

test('wharf_inference_request_duration_seconds observes every request', () => {
  const { count, sum } = checkHistogram('wharf_inference_request_duration_seconds');
  assert.equal(count, OK_REQUESTS + BAD_REQUESTS);
  assert.ok(sum > 0 && sum < 60, `sum ${sum} s`);
});

test('wharf_inference_batch_size observes the rows of every model run', () => {
  const { count, sum } = checkHistogram('wharf_inference_batch_size');
  assert.equal(count, OK_REQUESTS, 'one run per successful request (sent one at a time)');
  assert.equal(sum, 1 + 2 + 3 + 4 + 5, 'rows');
});

test('wharf_inference_queue_duration_seconds observes every run', () => {
  const { count, sum } = checkHistogram('wharf_inference_queue_duration_seconds');
  assert.equal(count, OK_REQUESTS);
  assert.ok(sum >= 0 && sum < 10);
});

test('wharf_inference_requests_in_flight is 0 when idle', () => {
  assert.match(exposition.text, /^# TYPE wharf_inference_requests_in_flight gauge$/m);
  assert.equal(sampleValue(samples, 'wharf_inference_requests_in_flight', LABELS), 0);
});

test('wharf_model_load_duration_seconds reports the load time', () => {
  assert.match(exposition.text, /^# TYPE wharf_model_load_duration_seconds gauge$/m);
  const v = sampleValue(samples, 'wharf_model_load_duration_seconds', LABELS);
  assert.ok(v !== undefined && v > 0 && v < 60, `load time ${v}`);
});

test('promtool check metrics accepts the exposition with no lint problems', (t) => {
  if (promtoolMissing) {
    // CI must run this check; only an explicit opt-in turns the missing tool into a skip.
    if (process.env.WHARF_ALLOW_SKIP !== '1')
      assert.fail(`${promtoolMissing} (set WHARF_ALLOW_SKIP=1 to skip instead)`);
    console.log(`skipping the promtool check: ${promtoolMissing}`);
    t.skip(promtoolMissing);
    return;
  }
  const check = spawnSync('promtool', ['check', 'metrics'], {
    input: exposition.text,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const output = `${check.stdout}${check.stderr}`.trim();
  assert.equal(output, '', `promtool reported problems:\n${output}`);
  assert.equal(check.status, 0, `promtool exit code ${check.status}`);
});
