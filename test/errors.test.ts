/**
 * The one error model: every code of the closed `ErrorCode` list has an HTTP status, every
 * WharfError in src/ carries a listed code, and the three HTTP edges (the API, the model server and
 * the gateway) answer each code with the same status — the statuses each edge sent before the
 * tables became one, pinned here code by code.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { toApiError } from '../src/api/errors.js';
import { TerminalError } from '../src/controller/reconciler.js';
import {
  ERROR_CODES,
  type ErrorCode,
  HTTP_STATUS,
  httpStatusOf,
  InsufficientStorageError,
  InternalError,
  InvalidArgumentError,
  MethodNotAllowedError,
  NotFoundError,
  NotSupportedError,
  PayloadTooLargeError,
  PermissionDeniedError,
  PolicyViolationError,
  UnavailableError,
  unlessNotFound,
  WharfError,
} from '../src/core/errors.js';
import {
  errorStatus,
  GatewayUnavailableError,
  NoReadyReplicaError,
  RateLimitedError,
  RouteNotFoundError,
  sendError,
  TokenScopeError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../src/gateway/errors.js';
import { PrometheusQueryError } from '../src/metrics/prometheus-source.js';
import { VersionExistsError } from '../src/registry/errors.js';
import { toHttpError } from '../src/serving/http-errors.js';
import { AlreadyExistsError, ConflictError } from '../src/store/errors.js';

/** A WharfError with any listed code, for codes no class of src/ carries yet (UNAUTHENTICATED). */
class Coded extends WharfError {
  constructor(readonly code: ErrorCode) {
    super(`${code.toLowerCase()}: a sample`);
  }
}

/** A code outside the list: a compile error (pinned by the directive); a 500 if it is smuggled in. */
class Teapot extends WharfError {
  // @ts-expect-error -- 'TEAPOT' is not an ErrorCode, so this class must not compile.
  readonly code = 'TEAPOT';
}

/** One instance of every WharfError class in src/. */
const SAMPLES: readonly WharfError[] = [
  new InvalidArgumentError('x: bad'),
  new NotFoundError('no such thing'),
  new MethodNotAllowedError('no PUT here', ['GET', 'HEAD']),
  new PayloadTooLargeError('body: too large'),
  new UnavailableError('loading'),
  new InsufficientStorageError('body: not stored: the disk is full'),
  new InternalError('the runtime failed'),
  new PermissionDeniedError('approver is the requester'),
  new PolicyViolationError([
    { policy: 'quota', rule: 'replicas <= 4', message: 'production would ask for 6 replicas in all' },
  ]),
  new NotSupportedError('the local runtime cannot honour image'),
  new ConflictError('Deployment', 'dev/risk', 1, 2),
  new AlreadyExistsError('Deployment', 'dev/risk'),
  new VersionExistsError('risk', '1.0.0'),
  new TerminalError('revision 3 is missing'),
  new PrometheusQueryError('bad PromQL', 'bad_data'),
  new RouteNotFoundError('no route'),
  new NoReadyReplicaError('no ready replica'),
  new UpstreamUnavailableError('refused'),
  new UpstreamTimeoutError('too slow'),
  new GatewayUnavailableError('draining'),
  new RateLimitedError('rate limit exceeded'),
  new TokenScopeError('the bearer token is not scoped to this deployment'),
];

/** The status each edge sent for its codes before the three tables became one. */
const API_BEFORE: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  INTERNAL: 500,
  TERMINAL: 500,
  PROMETHEUS_QUERY: 500,
};
const SERVING_BEFORE: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};
const GATEWAY_BEFORE: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UPSTREAM_UNAVAILABLE: 502,
  NO_READY_REPLICA: 503,
  GATEWAY_UNAVAILABLE: 503,
  UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL: 500,
};

/** The status `sendError` writes, on a stand-in response. */
function gatewaySent(err: unknown): { status: number; headers: Record<string, string | number>; body: string } {
  let sent: { status: number; headers: Record<string, string | number>; body: string } | undefined;
  const res = {
    headersSent: false,
    writeHead(status: number, headers: Record<string, string | number>) {
      sent = { status, headers, body: '' };
    },
    end(body: string) {
      sent!.body = body;
    },
  } as unknown as ServerResponse;
  const returned = sendError(res, err);
  assert.ok(sent, 'sendError wrote a head');
  assert.equal(returned, sent.status);
  return sent;
}

test('every ErrorCode has an HTTP error status, and the table lists no other code', () => {
  assert.deepEqual(Object.keys(HTTP_STATUS).sort(), [...ERROR_CODES].sort());
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  for (const code of ERROR_CODES) {
    const status = HTTP_STATUS[code];
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`);
  }
});

test('every WharfError class of src/ carries a listed code, and all codes but UNAUTHENTICATED are used', () => {
  const used = new Set(SAMPLES.map((e) => e.code));
  for (const code of used) assert.ok((ERROR_CODES as readonly string[]).includes(code), code);
  assert.deepEqual(
    ERROR_CODES.filter((c) => !used.has(c)),
    ['UNAUTHENTICATED'],
  );
});

test('the API, the model server and the gateway answer every code with the same status', () => {
  const all = [...SAMPLES, new Coded('UNAUTHENTICATED')];
  for (const err of all) {
    const status = HTTP_STATUS[err.code];
    assert.equal(httpStatusOf(err), status, err.code);
    assert.equal(toApiError(err).status, status, `api ${err.code}`);
    assert.equal(toHttpError(err).status, status, `serving ${err.code}`);
    assert.equal(errorStatus(err), status, `gateway ${err.code}`);
    assert.equal(gatewaySent(err).status, status, `gateway sendError ${err.code}`);
  }
  // Anything that is not a WharfError is a 500 everywhere.
  const boom = new Error('boom');
  assert.equal(toApiError(boom).status, 500);
  assert.equal(toHttpError(boom).status, 500);
  assert.equal(errorStatus(boom), 500);
  assert.equal(httpStatusOf('boom'), 500);
  // A code outside the list (only reachable past the type checker) is a server fault too.
  const teapot = new Teapot('short and stout');
  assert.equal(toApiError(teapot).status, 500);
  assert.equal(toHttpError(teapot).status, 500);
  assert.equal(errorStatus(teapot), 500);
});

test('each edge keeps the status it sent for its codes before the tables became one', () => {
  for (const [edge, before, statusOf] of [
    ['api', API_BEFORE, (e: WharfError) => toApiError(e).status],
    ['serving', SERVING_BEFORE, (e: WharfError) => toHttpError(e).status],
    ['gateway', GATEWAY_BEFORE, (e: WharfError) => errorStatus(e)],
  ] as const) {
    for (const [code, status] of Object.entries(before)) {
      assert.equal(statusOf(new Coded(code as ErrorCode)), status, `${edge} ${code}`);
    }
  }
});

test('the edges shape their bodies their own way around the same status', () => {
  const err = new NotFoundError('model risk not found');
  assert.deepEqual(toApiError(err).body, { error: { code: 'NOT_FOUND', message: 'model risk not found' } });
  assert.deepEqual(JSON.parse(toHttpError(err).body), { error: 'model risk not found' });
  assert.deepEqual(JSON.parse(gatewaySent(err).body), { error: 'model risk not found' });
});

test("the API's 405 names the allowed methods in Allow; its 413 names the body", () => {
  const refused = toApiError(
    new MethodNotAllowedError('method PUT is not allowed on /x; allowed: GET, HEAD', ['GET', 'HEAD']),
  );
  assert.equal(refused.status, 405);
  assert.deepEqual(refused.headers, { allow: 'GET, HEAD' });
  assert.deepEqual(refused.body, {
    error: { code: 'METHOD_NOT_ALLOWED', message: 'method PUT is not allowed on /x; allowed: GET, HEAD' },
  });
  const tooLarge = toApiError(new PayloadTooLargeError('body: larger than the limit of 10 bytes for this endpoint'));
  assert.equal(tooLarge.status, 413);
  assert.equal(tooLarge.headers, undefined);
  assert.deepEqual(tooLarge.body, {
    error: {
      code: 'PAYLOAD_TOO_LARGE',
      message: 'body: larger than the limit of 10 bytes for this endpoint',
      field: 'body',
    },
  });
});

test('unlessNotFound makes a NOT_FOUND absent and lets every other failure through', async () => {
  assert.equal(await unlessNotFound(Promise.reject(new NotFoundError('gone'))), undefined);
  assert.equal(await unlessNotFound(Promise.resolve(7)), 7);
  await assert.rejects(unlessNotFound(Promise.reject(new RouteNotFoundError('no route'))), RouteNotFoundError);
  await assert.rejects(unlessNotFound(Promise.reject(new ConflictError('Model', 'm', 1, 2))), ConflictError);
  await assert.rejects(unlessNotFound(Promise.reject(new Error('boom'))), /boom/);
});
