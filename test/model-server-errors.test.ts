// The model server's answers to malformed and refused requests: every rejection is a 4xx with a JSON
// {"error": string} body naming the offending field, never a 5xx and never a stack trace, and the
// server keeps serving afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { OIP_DATATYPES, type OipDatatype } from '../src/demo/fixtures.js';
import { READMISSION_FEATURES } from '../src/demo/readmission.js';
import { isAlive, type ModelServerProcess } from './support/processes.js';
import { letTimePass } from './support/eventually.js';
import {
  expectError,
  http,
  type HttpOptions,
  type HttpResult,
  type ModelFiles,
  startModelServers,
  stopAll,
  writeModelFiles,
} from './support/serving.js';

const FEATURES = READMISSION_FEATURES.length;
/** The readmission server's --max-body-bytes: small, so the 413 tests need little data. */
const BODY_LIMIT = 8192;

let files: ModelFiles | undefined;
const started: ModelServerProcess[] = [];
let rd: ModelServerProcess;
let mio: ModelServerProcess;
let id: ModelServerProcess;

/** Every response this file received, for the checks at the end. */
const seen: { what: string; status: number; body: string }[] = [];

async function call(server: ModelServerProcess, path: string, options: HttpOptions = {}): Promise<HttpResult> {
  const res = await http(`${server.url}${path}`, options);
  seen.push({
    what: `${options.method ?? (options.body === undefined ? 'GET' : 'POST')} ${path}`,
    status: res.status,
    body: res.text,
  });
  return res;
}

before(
  async () => {
    files = await writeModelFiles();
    [rd, mio, id] = await startModelServers(
      [
        ['--model', files.readmission, '--name', 'readmission', '--max-body-bytes', String(BODY_LIMIT)],
        ['--model', files.multiIo, '--name', 'multi-io'],
        ['--model', files.identity, '--name', 'identity'],
      ],
      started,
    );
  },
  { timeout: 30_000 },
);

after(async () => {
  await stopAll(started);
  await files?.cleanup();
});

const ROW = Array.from({ length: FEATURES }, (_, i) => (i - 8) / 4);
/** A valid readmission input, with fields replaced (or removed, with undefined). */
const rdInput = (fields: Record<string, unknown> = {}) => ({
  name: 'input',
  datatype: 'FP32',
  shape: [1, FEATURES],
  data: ROW,
  ...fields,
});
const rdBody = (fields: Record<string, unknown> = {}) => ({ inputs: [rdInput(fields)] });
/** FP32 data for one row with element 3 replaced. */
const rowWith = (v: unknown) => ROW.map((x, i) => (i === 3 ? v : x));

/** A valid identity request (all 13 inputs, shape [1,2]) with one datatype's data replaced. */
function idBody(type: OipDatatype, data: unknown[]): unknown {
  const ok: Record<OipDatatype, unknown[]> = {
    BOOL: [true, false],
    INT8: [1, -1],
    INT16: [1, -1],
    INT32: [1, -1],
    INT64: [1, -1],
    UINT8: [1, 2],
    UINT16: [1, 2],
    UINT32: [1, 2],
    UINT64: [1, 2],
    FP16: [0.5, 1],
    FP32: [0.5, 1],
    FP64: [0.5, 1],
    BYTES: ['a', 'b'],
  };
  return {
    inputs: OIP_DATATYPES.map((t) => ({
      name: `in_${t}`,
      datatype: t,
      shape: [1, 2],
      data: t === type ? data : ok[t],
    })),
  };
}
const idx = (t: OipDatatype) => OIP_DATATYPES.indexOf(t);

interface Case {
  /** What is wrong with the request. */
  title: string;
  server: () => ModelServerProcess;
  /** Sent as is when a string, JSON-encoded otherwise. */
  body: unknown;
  /** The message must contain this: the offending field. */
  field: string;
  /** Further text the message must contain (e.g. the bad value). */
  mentions?: string[];
  status?: number;
}

const R = () => rd;
const M = () => mio;
const I = () => id;

const CASES: Case[] = [
  // The body as a whole.
  { title: 'malformed JSON', server: R, body: '{"inputs": [', field: 'request body', mentions: ['JSON'] },
  { title: 'empty body', server: R, body: '', field: 'request body' },
  { title: 'body is an array', server: R, body: '[]', field: 'request body' },
  { title: 'body is null', server: R, body: 'null', field: 'request body' },
  { title: 'body is a string', server: R, body: '"str"', field: 'request body' },
  { title: 'body is a number', server: R, body: '42', field: 'request body' },
  // inputs
  { title: 'inputs missing', server: R, body: {}, field: 'inputs' },
  { title: 'inputs not an array', server: R, body: { inputs: rdInput() }, field: 'inputs' },
  { title: 'inputs empty', server: R, body: { inputs: [] }, field: 'inputs' },
  { title: 'input not an object', server: R, body: { inputs: [42] }, field: 'inputs[0]' },
  { title: 'input name missing', server: R, body: rdBody({ name: undefined }), field: 'inputs[0].name' },
  { title: 'input name not a string', server: R, body: rdBody({ name: 7 }), field: 'inputs[0].name' },
  {
    title: 'unknown input name',
    server: R,
    body: rdBody({ name: 'inputz' }),
    field: 'inputs[0].name',
    mentions: ['inputz'],
  },
  {
    title: 'duplicate input',
    server: R,
    body: { inputs: [rdInput(), rdInput()] },
    field: 'inputs[1].name',
    mentions: ['duplicate'],
  },
  {
    title: 'required input missing (multi-input model)',
    server: M,
    field: 'inputs',
    mentions: ['offset'],
    body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
  },
  // datatype
  { title: 'datatype missing', server: R, body: rdBody({ datatype: undefined }), field: 'inputs[0].datatype' },
  {
    title: 'datatype unknown (FP8)',
    server: R,
    body: rdBody({ datatype: 'FP8' }),
    field: 'inputs[0].datatype',
    mentions: ['FP8'],
  },
  { title: 'datatype lower case', server: R, body: rdBody({ datatype: 'fp32' }), field: 'inputs[0].datatype' },
  {
    title: 'datatype mismatched',
    server: R,
    body: rdBody({ datatype: 'FP64' }),
    field: 'inputs[0].datatype',
    mentions: ['FP32'],
  },
  // shape
  { title: 'shape missing', server: R, body: rdBody({ shape: undefined }), field: 'inputs[0].shape' },
  { title: 'shape not an array', server: R, body: rdBody({ shape: '1,16' }), field: 'inputs[0].shape' },
  {
    title: 'shape of the wrong rank',
    server: R,
    body: rdBody({ shape: [FEATURES] }),
    field: 'inputs[0].shape',
    mentions: ['rank'],
  },
  { title: 'negative dimension', server: R, body: rdBody({ shape: [-1, FEATURES] }), field: 'inputs[0].shape[0]' },
  { title: 'fractional dimension', server: R, body: rdBody({ shape: [1.5, FEATURES] }), field: 'inputs[0].shape[0]' },
  { title: 'string dimension', server: R, body: rdBody({ shape: ['1', FEATURES] }), field: 'inputs[0].shape[0]' },
  { title: 'null dimension', server: R, body: rdBody({ shape: [1, null] }), field: 'inputs[0].shape[1]' },
  { title: 'absurd dimension 1e12', server: R, body: rdBody({ shape: [1e12, FEATURES] }), field: 'inputs[0].shape[0]' },
  { title: 'dimension 2^31', server: R, body: rdBody({ shape: [2 ** 31, FEATURES] }), field: 'inputs[0].shape[0]' },
  {
    title: 'fixed dimension mismatch',
    server: R,
    field: 'inputs[0].shape[1]',
    body: rdBody({ shape: [1, FEATURES - 1], data: ROW.slice(1) }),
  },
  {
    title: 'more elements than a body under the limit can carry',
    server: R,
    field: 'inputs[0].shape',
    body: rdBody({ shape: [BODY_LIMIT, FEATURES] }),
  },
  // data
  { title: 'data missing', server: R, body: rdBody({ data: undefined }), field: 'inputs[0].data' },
  { title: 'data not an array', server: R, body: rdBody({ data: ROW.join(',') }), field: 'inputs[0].data' },
  { title: 'too few elements', server: R, body: rdBody({ data: ROW.slice(1) }), field: 'inputs[0].data' },
  { title: 'too many elements', server: R, body: rdBody({ data: [...ROW, 1] }), field: 'inputs[0].data' },
  {
    title: 'too many elements, nested',
    server: R,
    field: 'inputs[0].data',
    body: rdBody({ shape: [2, FEATURES], data: [ROW, ROW, ROW] }),
  },
  {
    title: 'ragged nested rows',
    server: R,
    field: 'inputs[0].data[1]',
    body: rdBody({ shape: [2, FEATURES], data: [ROW, ROW.slice(1)] }),
  },
  { title: 'nested deeper than the rank', server: R, body: rdBody({ data: [[ROW]] }), field: 'inputs[0].data' },
  {
    title: 'a scalar among rows',
    server: R,
    field: 'inputs[0].data[1]',
    body: rdBody({ shape: [2, FEATURES], data: [ROW, 5] }),
  },
  {
    title: 'a row among scalars',
    server: R,
    field: 'inputs[0].data[1]',
    body: rdBody({ data: [5, ROW.slice(1)] }),
  },
  { title: 'FP32 element is a string', server: R, body: rdBody({ data: rowWith('1.5') }), field: 'inputs[0].data[3]' },
  { title: 'FP32 element is null', server: R, body: rdBody({ data: rowWith(null) }), field: 'inputs[0].data[3]' },
  {
    title: 'FP32 element is an object',
    server: R,
    body: rdBody({ data: rowWith({ v: 1 }) }),
    field: 'inputs[0].data[3]',
  },
  { title: 'FP32 element is a boolean', server: R, body: rdBody({ data: rowWith(true) }), field: 'inputs[0].data[3]' },
  // Element types and ranges, on the identity model.
  {
    title: 'fractional INT32',
    server: I,
    body: idBody('INT32', [1, 2.5]),
    field: `inputs[${idx('INT32')}].data[1]`,
    mentions: ['INT32'],
  },
  {
    title: 'INT8 above 127',
    server: I,
    body: idBody('INT8', [128, 0]),
    field: `inputs[${idx('INT8')}].data[0]`,
    mentions: ['INT8'],
  },
  {
    title: 'INT16 below -32768',
    server: I,
    body: idBody('INT16', [0, -32769]),
    field: `inputs[${idx('INT16')}].data[1]`,
  },
  {
    title: 'UINT8 above 255',
    server: I,
    body: idBody('UINT8', [256, 0]),
    field: `inputs[${idx('UINT8')}].data[0]`,
    mentions: ['UINT8'],
  },
  { title: 'negative UINT8', server: I, body: idBody('UINT8', [0, -1]), field: `inputs[${idx('UINT8')}].data[1]` },
  {
    title: 'negative UINT32',
    server: I,
    body: idBody('UINT32', [-5, 0]),
    field: `inputs[${idx('UINT32')}].data[0]`,
    mentions: ['UINT32'],
  },
  { title: 'negative UINT64', server: I, body: idBody('UINT64', [1, -1]), field: `inputs[${idx('UINT64')}].data[1]` },
  {
    title: 'BOOL given as a string',
    server: I,
    body: idBody('BOOL', ['true', false]),
    field: `inputs[${idx('BOOL')}].data[0]`,
  },
  { title: 'BOOL given as 2', server: I, body: idBody('BOOL', [true, 2]), field: `inputs[${idx('BOOL')}].data[1]` },
  {
    title: 'BYTES element is a number',
    server: I,
    body: idBody('BYTES', ['a', 5]),
    field: `inputs[${idx('BYTES')}].data[1]`,
  },
  {
    title: 'BYTES element is null',
    server: I,
    body: idBody('BYTES', [null, 'b']),
    field: `inputs[${idx('BYTES')}].data[0]`,
  },
  // Beyond the largest finite value a float would be stored as Infinity and come back as null.
  {
    title: 'FP32 element beyond the FP32 range',
    server: R,
    body: rdBody({ data: rowWith(1e39) }),
    field: 'inputs[0].data[3]',
    mentions: ["input 'input'", '3.4028234663852886e+38', '1e+39'],
  },
  {
    title: 'FP32 element beyond the FP32 range, nested data',
    server: I,
    body: idBody('FP32', [[0.5, -1e39]]),
    field: `inputs[${idx('FP32')}].data[0][1]`,
    mentions: ["input 'in_FP32'", 'largest finite FP32'],
  },
  {
    title: 'FP16 element beyond the FP16 range',
    server: I,
    body: idBody('FP16', [1e6, 0.5]),
    field: `inputs[${idx('FP16')}].data[0]`,
    mentions: ["input 'in_FP16'", '65504'],
  },
  // outputs, id, parameters
  {
    title: 'unknown requested output',
    server: R,
    body: { ...rdBody(), outputs: [{ name: 'nope' }] },
    field: 'outputs[0].name',
    mentions: ['nope'],
  },
  { title: 'outputs not an array', server: R, body: { ...rdBody(), outputs: { name: 'label' } }, field: 'outputs' },
  {
    title: 'requested output without a name',
    server: R,
    body: { ...rdBody(), outputs: [{}] },
    field: 'outputs[0].name',
  },
  {
    title: 'requested output twice',
    server: R,
    field: 'outputs[1].name',
    body: { ...rdBody(), outputs: [{ name: 'label' }, { name: 'label' }] },
  },
  { title: 'id not a string', server: R, body: { ...rdBody(), id: 42 }, field: 'id' },
  { title: 'parameters not an object', server: R, body: { ...rdBody(), parameters: 'fast' }, field: 'parameters' },
  { title: 'parameters an array', server: R, body: { ...rdBody(), parameters: ['fast'] }, field: 'parameters' },
  {
    title: 'parameter value an object',
    server: R,
    body: { ...rdBody(), parameters: { mode: { a: 1 } } },
    field: 'parameters.mode',
  },
  {
    title: 'input parameter value null',
    server: R,
    body: rdBody({ parameters: { scale: null } }),
    field: 'inputs[0].parameters.scale',
  },
  {
    title: 'binary_data_size parameter (binary tensors unsupported)',
    server: R,
    field: 'inputs[0].parameters.binary_data_size',
    body: rdBody({ parameters: { binary_data_size: 64 } }),
  },
  {
    title: 'binary_data requested for an output',
    server: R,
    field: 'outputs[0].parameters.binary_data',
    body: { ...rdBody(), outputs: [{ name: 'label', parameters: { binary_data: true } }] },
  },
  {
    // Both inputs share the symbolic batch dimension; ONNX Runtime fails on 2 vs 3 rows, which must
    // be reported as the client's error, not a server fault.
    title: 'inputs disagree on the batch dimension',
    server: M,
    field: 'shape',
    body: {
      inputs: [
        { name: 'features', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
        { name: 'offset', datatype: 'FP64', shape: [3, 1], data: [1, 2, 3] },
      ],
    },
  },
];

describe('malformed inference requests answer 400 naming the field', () => {
  test('there are at least 30 distinct cases', () => {
    assert.ok(CASES.length >= 30);
    assert.equal(new Set(CASES.map((c) => c.title)).size, CASES.length, 'titles are distinct');
    assert.equal(
      new Set(CASES.map((c) => (typeof c.body === 'string' ? c.body : JSON.stringify(c.body)))).size,
      CASES.length,
      'bodies are distinct',
    );
  });

  for (const c of CASES) {
    test(c.title, async () => {
      const server = c.server();
      const name = server === rd ? 'readmission' : server === mio ? 'multi-io' : 'identity';
      const message = expectError(
        await call(server, `/v2/models/${name}/infer`, { method: 'POST', body: c.body }),
        c.status ?? 400,
      );
      assert.ok(message.includes(c.field), `message names '${c.field}': ${message}`);
      for (const m of c.mentions ?? []) assert.ok(message.includes(m), `message mentions '${m}': ${message}`);
    });
  }
});

describe('unknown resources and methods', () => {
  const valid = rdBody();

  test('404 for an unknown model', async () => {
    for (const [path, options] of [
      ['/v2/models/nope', {}],
      ['/v2/models/nope/ready', {}],
      ['/v2/models/nope/versions/1', {}],
      ['/v2/models/nope/infer', { body: valid }],
    ] as const) {
      const message = expectError(await call(rd, path, options), 404);
      assert.ok(message.includes('nope'), `${path}: ${message}`);
    }
  });

  test('404 for an unknown version', async () => {
    for (const [path, options] of [
      ['/v2/models/readmission/versions/9', {}],
      ['/v2/models/readmission/versions/9/ready', {}],
      ['/v2/models/readmission/versions/9/infer', { body: valid }],
    ] as const) {
      const message = expectError(await call(rd, path, options), 404);
      assert.ok(message.includes("'9'"), `${path}: ${message}`);
    }
  });

  test('404 for an unknown path', async () => {
    for (const path of [
      '/',
      '/v1/models/readmission',
      '/v2/models',
      '/v2/models/',
      '/v2/health',
      '/v2/models/readmission/explain',
      '/v2/models/readmission/infer/extra',
      '/v2/models/readmission/versions',
      '/v2/healthz/live',
    ]) {
      expectError(await call(rd, path), 404);
    }
  });

  test('405 with an Allow header for a wrong method', async () => {
    const getInfer = await call(rd, '/v2/models/readmission/infer', { method: 'GET' });
    expectError(getInfer, 405);
    assert.equal(getInfer.headers.get('allow'), 'POST');

    for (const [method, path] of [
      ['POST', '/v2/health/live'],
      ['POST', '/v2/health/ready'],
      ['PUT', '/v2/models/readmission'],
      ['DELETE', '/v2/models/readmission/ready'],
      ['POST', '/v2'],
    ] as const) {
      const res = await call(rd, path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      const message = expectError(res, 405);
      assert.ok(message.includes(method), `${method} ${path}: ${message}`);
      const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim());
      assert.ok(allow.includes('GET'), `${method} ${path}: Allow ${res.headers.get('allow')}`);
      assert.ok(!allow.includes(method), `${method} ${path}: Allow must not list ${method}`);
    }
  });
});

/** A raw HTTP/1.1 exchange over TCP: the response text and how much of the body had been sent by then. */
interface RawExchange {
  response: string;
  status: number;
  /** Body chunks written before the first response byte arrived. */
  chunksBeforeResponse: number;
}

/**
 * Sends `head` and then `chunks` (one every `intervalMs`, stopping as soon as a response arrives),
 * and reads the response until the server closes the connection.
 */
async function rawExchange(
  server: ModelServerProcess,
  head: string,
  chunks: readonly string[],
  intervalMs: number,
): Promise<RawExchange> {
  const { hostname, port } = new URL(server.url);
  const socket = net.connect(Number(port), hostname);
  socket.setEncoding('utf8');
  let response = '';
  let responded = false;
  let sent = 0;
  let chunksBeforeResponse = -1;
  const closed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within 10 s (sent ${sent} chunks; got ${JSON.stringify(response)})`));
    }, 10_000);
    socket.on('data', (d: string) => {
      if (!responded) chunksBeforeResponse = sent;
      responded = true;
      response += d;
    });
    // Writing after the server closed may fail with EPIPE/ECONNRESET; the response is what counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(head);
  for (const chunk of chunks) {
    if (responded || socket.destroyed) break;
    await letTimePass(intervalMs, 'a slow client: the server times how long the body takes');
    if (responded || socket.destroyed) break;
    socket.write(chunk);
    sent++;
  }
  if (!responded && !socket.destroyed) socket.end();
  await closed;
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1]);
  seen.push({ what: `raw ${head.split('\r\n')[0]}`, status, body: response });
  return { response, status, chunksBeforeResponse };
}

function rawBody(response: string): HttpResult {
  const split = response.indexOf('\r\n\r\n');
  const headers = new Headers();
  for (const line of response.slice(0, split).split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]), headers, text: response.slice(split + 4) };
}

describe('request body size limit (--max-body-bytes)', () => {
  const path = '/v2/models/readmission/infer';

  test('413 when Content-Length is above the limit, without waiting for the body', async () => {
    const declared = BODY_LIMIT + 1;
    const head = `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`;
    // Only the first kilobyte is sent: the answer must come from the declared length alone.
    const ex = await rawExchange(rd, head, ['x'.repeat(1024)], 0);
    const message = expectError(rawBody(ex.response), 413);
    assert.ok(message.includes(String(BODY_LIMIT)), `message states the limit: ${message}`);
    assert.match(ex.response, /\r\nconnection: close\r\n/i);
  });

  test('413 for a full body above the limit sent with Content-Length', async () => {
    const body = JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, FEATURES], data: ROW }],
      pad: 'x'.repeat(BODY_LIMIT),
    });
    const head = `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const ex = await rawExchange(rd, head, [body], 0);
    expectError(rawBody(ex.response), 413);
  });

  test('413 for a chunked body over the limit, answered while the client is still sending', async () => {
    const head = `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const CHUNK = 1024;
    const TOTAL = 64; // 64 KiB planned against an 8 KiB limit
    const chunks = Array.from({ length: TOTAL }, () => `${CHUNK.toString(16)}\r\n${'x'.repeat(CHUNK)}\r\n`);
    const ex = await rawExchange(rd, head, chunks, 15);
    const message = expectError(rawBody(ex.response), 413);
    assert.ok(message.includes(String(BODY_LIMIT)), message);
    // The server must have seen more than the limit, and must not have waited for the rest.
    assert.ok(
      ex.chunksBeforeResponse * CHUNK > BODY_LIMIT,
      `413 came after ${ex.chunksBeforeResponse} chunks: before the limit was exceeded`,
    );
    assert.ok(
      ex.chunksBeforeResponse < TOTAL / 2,
      `413 came only after ${ex.chunksBeforeResponse} of ${TOTAL} chunks: the server read on past the limit`,
    );
  });
});

describe('after all of the above', () => {
  test('a valid request still succeeds and the process is alive', async () => {
    for (const server of [rd, mio, id]) {
      assert.ok(isAlive(server.child.pid!), 'server process is alive');
      assert.equal(server.child.exitCode, null);
    }
    const res = await call(rd, '/v2/models/readmission/infer', { body: rdBody() });
    assert.equal(res.status, 200, res.text);
    const body = JSON.parse(res.text) as { outputs: { name: string; data: number[] }[] };
    assert.deepEqual(
      body.outputs.map((o) => o.name),
      ['probability', 'label'],
    );
    const ready = await call(rd, '/v2/health/ready');
    assert.equal(ready.status, 200);
  });

  test('no response had a status of 500 or above', () => {
    assert.ok(seen.length > CASES.length, `${seen.length} responses recorded`);
    const failures = seen.filter((s) => !(s.status >= 200 && s.status < 500));
    assert.deepEqual(
      failures.map((f) => `${f.what} → ${f.status} ${f.body.slice(0, 200)}`),
      [],
    );
  });

  test('no response body contained a stack trace', () => {
    const traces = seen.filter((s) => s.body.includes('    at ') || /\n\s*at \S+ \(/.test(s.body));
    assert.deepEqual(
      traces.map((f) => `${f.what}: ${f.body.slice(0, 300)}`),
      [],
    );
  });
});
