/**
 * A property-based run (fast-check, seeded, bounded) over every operation of the API's own OpenAPI
 * document (issue 17): bad path parameters, bad query parameters and bad bodies (wrong types,
 * missing fields, huge strings, odd unicode, NUL-free junk) must never be answered with a 5xx, and
 * every 400 names the field it is about. The run is deterministic: the seed and the number of runs
 * per operation are fixed, so a failure here reproduces with the same inputs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { figure } from './support/faults.js';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  $ref?: string;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const SEED = 17_017;
/** 15 keeps the run under a minute; `WHARF_FUZZ_RUNS` asks for a longer one (same seed). */
const RUNS_PER_OPERATION = Number(process.env.WHARF_FUZZ_RUNS ?? 15);

const DEPLOYMENT = {
  name: 'risk',
  environment: 'staging',
  model: { name: 'risk', version: '1.0.0' },
  configuration: { replicas: 0 },
};

let e2e: E2eControlPlane;
let doc: OpenApiDocument;

before(
  async () => {
    e2e = await startE2eControlPlane('wharf-fuzz-', { '1.0.0': {} });
    assert.equal((await e2e.api('/api/v1/deployments', { method: 'POST', json: DEPLOYMENT })).status, 201);
    const r = await fetch(`${e2e.cp.apiUrl}/api/v1/openapi.json`, {
      headers: { authorization: `Bearer ${e2e.adminToken}` },
    });
    doc = (await r.json()) as OpenApiDocument;
  },
  { timeout: 60_000 },
);
after(() => e2e?.stop());

/** Strings a careless or hostile client sends: empty, huge, odd unicode, traversal, markup, numbers as text. */
const badString = fc.oneof(
  fc.constantFrom('', ' ', '..', '../../etc/passwd', '%', '%zz', '-1', '1e309', 'NaN', 'null', 'true', '[]', '{}'),
  fc.constantFrom('\u202e\u0301', '\ud83d\ude00', '\ufeff', 'é'.repeat(300), '<script>', "' OR 1=1 --", '\\'),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replaceAll('\0', '')),
  fc.integer({ min: 1_000, max: 100_000 }).map((n) => 'x'.repeat(n)),
);

/** Any JSON value of a wrong shape: numbers, booleans, null, arrays, objects, strings. */
const junk = fc.oneof(
  badString,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 4 }),
);

function resolve(schema: Schema | undefined): Schema | undefined {
  if (schema?.$ref === undefined) return schema;
  return doc.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')];
}

/** Bad bodies for `schema`: wrong top-level types, missing required fields, each property given junk. */
function badBody(schema: Schema | undefined): fc.Arbitrary<string> {
  const s = resolve(schema);
  const props = Object.keys(s?.properties ?? {});
  const shapes: fc.Arbitrary<unknown>[] = [junk, fc.constant({})];
  if (props.length > 0) {
    shapes.push(
      fc
        .record({ key: fc.constantFrom(...props), value: junk, rest: fc.boolean() })
        .map(({ key, value, rest }) => ({ ...(rest ? DEPLOYMENT : {}), [key]: value })),
      fc.dictionary(fc.constantFrom(...props), junk, { minKeys: 1 }),
    );
  }
  return fc.oneof(
    fc.oneof(...shapes).map((v) => JSON.stringify(v)),
    fc.constantFrom('{', '{"a":}', '[1,', 'nul', '"unterminated', '{"__proto__":{"x":1}}'),
  );
}

/** One request's parts for `path` (an OpenAPI template) and `op`. */
function requestFor(path: string, op: Operation): fc.Arbitrary<{ url: string; body?: string }> {
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path').map((p) => p.name);
  const queryParams = params.filter((p) => p.in === 'query').map((p) => p.name);
  const schema = op.requestBody?.content?.['application/json']?.schema;
  return fc
    .record({
      // A path parameter is either a plausible value (so the route runs) or junk.
      path: fc.tuple(...pathParams.map(() => fc.oneof(fc.constantFrom('staging', 'risk', '1.0.0', '1'), badString))),
      query:
        queryParams.length === 0
          ? fc.constant([])
          : fc
              .subarray(queryParams)
              .chain((names) => fc.tuple(...names.map((n) => fc.tuple(fc.constant(n), badString)))),
      body: op.requestBody === undefined ? fc.constant(undefined) : badBody(schema),
    })
    .map(({ path: values, query, body }) => {
      let url = path;
      pathParams.forEach((name, i) => (url = url.replace(`{${name}}`, encodeURIComponent(values[i] as string))));
      const search = new URLSearchParams(query as [string, string][]).toString();
      return { url: search === '' ? url : `${url}?${search}`, ...(body === undefined ? {} : { body }) };
    });
}

/** A template path of the document in Hono's `:name` form, as the API reports it. */
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ path: path.replace(/:(\w+)/g, '{$1}'), method: method.toUpperCase(), op })),
  );

test(
  'every API operation answers generated bad input with a 4xx naming the field, never a 5xx',
  { timeout: 300_000 },
  async () => {
    const ops = operations();
    assert.ok(ops.length > 30, `the document lists ${ops.length} operations`);
    const defects: string[] = [];
    let requests = 0;
    for (const { path, method, op } of ops) {
      // A route that waits (a watch stream, logs that follow) answers its status first: read only that.
      await fc
        .assert(
          fc.asyncProperty(requestFor(path, op), async ({ url, body }) => {
            requests += 1;
            const r = await fetch(`${e2e.cp.apiUrl}${url}`, {
              method,
              headers: { authorization: `Bearer ${e2e.adminToken}`, 'content-type': 'application/json' },
              ...(body === undefined ? {} : { body }),
              signal: AbortSignal.timeout(10_000),
            });
            const streaming = /event-stream|ndjson/.test(r.headers.get('content-type') ?? '');
            const text = streaming ? (await r.body?.cancel(), '') : await r.text();
            const where = `${method} ${url.slice(0, 200)} ${body === undefined ? '' : body.slice(0, 200)}`;
            if (r.status >= 500) {
              defects.push(`${r.status} for ${where}: ${text.slice(0, 200)}`);
              return false;
            }
            if (r.status === 400) {
              const error = (JSON.parse(text) as { error?: { field?: string; message?: string } }).error;
              if (typeof error?.field !== 'string' || error.field === '' || !error.message?.startsWith(error.field)) {
                defects.push(`400 without a field for ${where}: ${text.slice(0, 200)}`);
                return false;
              }
            }
            return true;
          }),
          { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
        )
        .catch(() => undefined); // each defect is in `defects`; every operation still gets its runs
    }
    figure('API fuzz: requests sent', requests, `over ${ops.length} operations`, `${RUNS_PER_OPERATION} per operation`);
    figure('API fuzz: 5xx answers or 400s without a field', defects.length, 'answers', '0');
    assert.deepEqual(defects, []);
  },
);
