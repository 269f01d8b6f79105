// The model server process's lifecycle: graceful shutdown on SIGTERM/SIGINT (unready at once, new
// requests refused, in-flight ones finished), the grace period, start-up failures, and no orphans.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { READMISSION_FEATURES, readmissionProbability } from '../src/demo/readmission.js';
import { isAlive, type ModelServerProcess, startModelServer, startWharf } from './support/processes.js';
import {
  expectError,
  http,
  jsonOf,
  type ModelFiles,
  sampleValue,
  scrape,
  stopAll,
  within,
  writeModelFiles,
} from './support/serving.js';
import { eventually } from './support/eventually.js';

const FEATURES = READMISSION_FEATURES.length;
const ROW = Array.from({ length: FEATURES }, (_, i) => Math.cos(i));
const VALID = { id: 'in-flight', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, FEATURES], data: ROW }] };

let files: ModelFiles | undefined;
const started: ModelServerProcess[] = [];

before(async () => {
  files = await writeModelFiles();
});

after(async () => {
  await stopAll(started);
  await files?.cleanup();
});

async function serve(...args: string[]): Promise<ModelServerProcess> {
  const server = await startModelServer(['--model', files!.readmission, '--name', 'rd', ...args]);
  started.push(server);
  return server;
}

/** Waits until the server reports `n` inference requests in flight (its own gauge), so no guessing with sleeps. */
async function untilInFlight(server: ModelServerProcess, n: number): Promise<void> {
  await eventually(async () => sampleValue(await scrape(server.url), 'wharf_inference_requests_in_flight') === n, {
    timeoutMs: 5_000,
    intervalMs: 20,
    message: `${n} request(s) in flight`,
  });
}

/** Status of GET path, or 'refused' when the connection fails (server gone). */
async function statusOf(server: ModelServerProcess, path: string): Promise<number | 'refused'> {
  try {
    return (await http(`${server.url}${path}`, { timeoutMs: 2_000 })).status;
  } catch {
    return 'refused';
  }
}

describe('graceful shutdown', () => {
  test('SIGTERM: unready at once, new requests get 503, the in-flight request completes, exit 0', async () => {
    const server = await serve('--inject-latency-ms', '1500');
    const pid = server.child.pid!;
    const sentAt = performance.now();
    let inFlightDone = false;
    const inFlight = http(`${server.url}/v2/models/rd/infer`, { body: VALID, timeoutMs: 15_000 }).finally(
      () => (inFlightDone = true),
    );
    await untilInFlight(server, 1);

    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    await eventually(async () => (await statusOf(server, '/v2/health/ready')) === 503, {
      timeoutMs: 1_000,
      intervalMs: 5,
      message: 'readiness to answer 503',
    });
    const unreadyAfter = performance.now() - signalledAt;
    assert.ok(unreadyAfter < 500, `readiness turned 503 ${unreadyAfter.toFixed(0)} ms after SIGTERM`);
    assert.equal(inFlightDone, false, 'readiness turned 503 before the in-flight request completed');

    const ready = await http(`${server.url}/v2/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(jsonOf(ready), { ready: false });
    const modelReady = await http(`${server.url}/v2/models/rd/ready`);
    assert.equal(modelReady.status, 503);
    assert.deepEqual(jsonOf(modelReady), { name: 'rd', ready: false });
    assert.equal((await http(`${server.url}/v2/health/live`)).status, 200, 'still live while draining');

    const refused = await http(`${server.url}/v2/models/rd/infer`, { body: VALID });
    const message = expectError(refused, 503);
    assert.match(message, /shutting down/);
    assert.ok(refused.headers.get('retry-after'), 'a 503 carries Retry-After');
    assert.equal(inFlightDone, false, 'the new request was refused while the first was still in flight');

    const res = await inFlight;
    const tookMs = performance.now() - sentAt;
    assert.equal(res.status, 200, res.text);
    assert.ok(tookMs >= 1400, `the in-flight request took ${tookMs.toFixed(0)} ms, less than the injected 1500 ms`);
    const body = jsonOf(res) as { id: string; outputs: { name: string; data: number[] }[] };
    assert.equal(body.id, 'in-flight');
    const p = body.outputs.find((o) => o.name === 'probability')!.data[0]!;
    assert.ok(Math.abs(p - readmissionProbability(ROW.map(Math.fround))) < 1e-5, `probability ${p}`);

    assert.equal(await within(server.exited, 5_000, 'the process to exit'), 0);
    assert.equal(isAlive(pid), false, 'no process left behind');
    assert.equal(server.stderr(), '');
  });

  test('--grace-period 0.5: exits non-zero after about 0.5 s when a request is still running', async () => {
    const server = await serve('--grace-period', '0.5', '--inject-latency-ms', '5000');
    const pid = server.child.pid!;
    const inFlight = http(`${server.url}/v2/models/rd/infer`, { body: VALID, timeoutMs: 15_000 }).then(
      (r) => r.status,
      () => 'connection closed',
    );
    await untilInFlight(server, 1);

    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    const code = await within(server.exited, 4_000, 'the process to exit after its grace period');
    const tookMs = performance.now() - signalledAt;
    assert.equal(code, 1, 'exit code when the grace period ran out');
    assert.ok(tookMs >= 400, `exited after ${tookMs.toFixed(0)} ms, before the 0.5 s grace period`);
    assert.ok(tookMs < 2_500, `exited after ${tookMs.toFixed(0)} ms, not about 0.5 s`);
    assert.match(server.stderr(), /grace period/);
    assert.notEqual(await inFlight, 200, 'the abandoned request did not succeed');
    assert.equal(isAlive(pid), false);
  });

  test('a second SIGTERM while draining exits at once with code 1', async () => {
    const server = await serve('--inject-latency-ms', '5000');
    const inFlight = http(`${server.url}/v2/models/rd/infer`, { body: VALID, timeoutMs: 15_000 }).catch(
      () => undefined,
    );
    await untilInFlight(server, 1);
    server.child.kill('SIGTERM');
    await eventually(async () => (await statusOf(server, '/v2/health/ready')) === 503, {
      timeoutMs: 1_000,
      message: 'readiness to answer 503',
    });
    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    assert.equal(await within(server.exited, 3_000, 'exit after the second SIGTERM'), 1);
    assert.ok(performance.now() - signalledAt < 1_000);
    assert.match(server.stderr(), /second SIGTERM/);
    await inFlight;
  });

  test('SIGINT shuts down like SIGTERM, with exit code 0', async () => {
    const server = await serve();
    const pid = server.child.pid!;
    assert.equal((await http(`${server.url}/v2/models/rd/infer`, { body: VALID })).status, 200);
    server.child.kill('SIGINT');
    assert.equal(await within(server.exited, 5_000, 'exit after SIGINT'), 0);
    assert.equal(isAlive(pid), false, 'no process left behind');
    assert.equal(await statusOf(server, '/v2/health/live'), 'refused', 'the port is closed');
  });

  test('an idle server stops promptly on SIGTERM and leaves no process behind', async () => {
    const server = await serve();
    const pid = server.child.pid!;
    assert.equal(isAlive(pid), true);
    const signalledAt = performance.now();
    assert.equal(await server.stop(5_000), 0);
    assert.ok(performance.now() - signalledAt < 2_000, 'an idle server does not wait for anything');
    assert.equal(isAlive(pid), false, 'no process left behind');
    assert.equal(await statusOf(server, '/v2/health/live'), 'refused', 'the port is closed');
  });
});

describe('start-up failures exit non-zero with one line on stderr', () => {
  /** Runs serve-model to its exit and checks the failure contract; returns the stderr line. */
  async function failsToStart(args: string[]): Promise<string> {
    const proc = startWharf(['serve-model', ...args]);
    const code = await within(proc.exited, 20_000, `serve-model ${args.join(' ')} to exit`);
    assert.equal(typeof code, 'number', `exited by signal ${code}`);
    assert.notEqual(code, 0, 'exit code');
    const stderr = proc.stderr();
    assert.ok(!stderr.includes('    at '), `no stack trace: ${stderr}`);
    assert.doesNotMatch(proc.stdout(), /http:\/\//, 'no serving banner');
    assert.ok(!isAlive(proc.child.pid!), 'process is gone');
    return stderr;
  }

  /** Asserts stderr is exactly one non-empty line and returns it. */
  function oneLine(stderr: string): string {
    assert.ok(stderr.endsWith('\n'), `stderr ends with a newline: ${JSON.stringify(stderr)}`);
    const lines = stderr.slice(0, -1).split('\n');
    assert.equal(lines.length, 1, `one line: ${JSON.stringify(stderr)}`);
    assert.ok(lines[0]!.length > 0);
    return lines[0]!;
  }

  test('missing model file', async () => {
    const missing = join(files!.dir, 'does-not-exist.onnx');
    const line = oneLine(await failsToStart(['--port', '0', '--model', missing, '--name', 'x']));
    assert.match(line, /^wharf serve-model: /);
    assert.ok(line.includes(missing), line);
  });

  test('corrupt model file', async () => {
    const corrupt = join(files!.dir, 'corrupt.onnx');
    // Deterministic junk that is not a protobuf ModelProto.
    await writeFile(corrupt, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
    const line = oneLine(await failsToStart(['--port', '0', '--model', corrupt, '--name', 'x']));
    assert.match(line, /^wharf serve-model: /);
    assert.ok(line.includes(corrupt), line);
  });

  test('port already in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as net.AddressInfo;
      const line = oneLine(
        await failsToStart([
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--model',
          files!.readmission,
          '--name',
          'x',
        ]),
      );
      assert.match(line, /^wharf serve-model: /);
      assert.ok(line.includes(String(port)) && /in use/.test(line), line);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  // Commander prints the command's usage after an option error (showHelpAfterError in
  // src/cli/main.ts); the error itself must still be one line, first, naming the option.
  for (const [option, value, rule] of [
    ['--max-batch-size', '0', /integer from 1/],
    ['--port', '70000', /integer from 0 to 65535/],
    ['--max-body-bytes', '1.5', /integer/],
    ['--grace-period', 'soon', /number from 0/],
    ['--inject-error-rate', '2', /number from 0 to 1/],
  ] as const) {
    test(`invalid option value ${option} ${value}`, async () => {
      const stderr = await failsToStart(['--port', '0', '--model', files!.readmission, '--name', 'x', option, value]);
      const [first, ...rest] = stderr.split('\n');
      assert.match(first!, new RegExp(`^wharf: .*${option}.*'${value.replace('.', '\\.')}'`), first);
      assert.match(first!, rule);
      // At most a pointer to --help may follow the one-line error; never a stack trace.
      const hint = rest.join('\n').trim();
      assert.ok(hint === '' || hint === '(add --help for usage)', `only a --help hint may follow the error: ${stderr}`);
    });
  }

  test('required option missing', async () => {
    const stderr = await failsToStart(['--port', '0', '--model', files!.readmission]);
    assert.match(stderr.split('\n')[0]!, /^wharf: .*--name/);
  });
});
