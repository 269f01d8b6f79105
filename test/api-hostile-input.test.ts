/**
 * The control-plane API under hostile or careless input (issue 12, items 10 and 11), on a real
 * control plane: every bad request is a 4xx naming the field and the rule (never a 5xx, a stack
 * trace or an echo of the whole input), bodies are capped while they stream, a wrong method is a
 * 405 with `Allow`, and a store that cannot be reached is a 503 with `Retry-After`, then recovers.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Incident, NewResource } from '../src/core/resources.js';
import { cuttableProxy } from './support/tcp-proxy.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';
import { eventually } from './support/eventually.js';

type Answer = {
  status: number;
  headers: Headers;
  body: { error?: { code: string; message: string; field?: string } } & Record<string, unknown>;
};

/** The tokens of alice and bob on each control plane, by its API URL. */
const actorTokens = new Map<string, Record<string, string>>();

/** Mints alice's and bob's tokens on a control plane, for {@link call}. */
async function withActors(e2e: E2eControlPlane): Promise<string> {
  actorTokens.set(e2e.cp.apiUrl, { alice: await e2e.tokenFor('alice'), bob: await e2e.tokenFor('bob') });
  return e2e.cp.apiUrl;
}

/** A call as `actor` (default alice), answering status, headers and the parsed body. */
async function call(
  base: string,
  path: string,
  init: { method?: string; json?: unknown; body?: string; actor?: string } = {},
): Promise<Answer> {
  const r = await fetch(`${base}${path}`, {
    method: init.method ?? (init.json === undefined && init.body === undefined ? 'GET' : 'POST'),
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${actorTokens.get(base)?.[init.actor ?? 'alice'] ?? 'no-token-minted'}`,
    },
    ...(init.json !== undefined
      ? { body: JSON.stringify(init.json) }
      : init.body !== undefined
        ? { body: init.body }
        : {}),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text === '' ? {} : (JSON.parse(text) as Answer['body']) };
}

const DEPLOYMENT = {
  name: 'risk',
  environment: 'staging',
  model: { name: 'risk', version: '1.0.0' },
  configuration: { replicas: 0 },
};

/** Sends a chunked body that never ends until the server answers; resolves with the answer and the bytes sent. */
function endlessBody(url: string, giveUpAfterBytes: number): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(64 * 1024, 0x20); // spaces: valid JSON whitespace, forever
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body, sent });
        });
      },
    );
    req.on('error', (e) => (answered ? undefined : reject(e)));
    const pump = (): void => {
      while (!answered) {
        if (sent >= giveUpAfterBytes) {
          req.destroy();
          reject(new Error(`the server read ${sent} bytes of an endless body without answering`));
          return;
        }
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    req.write('{"name": "x"');
    pump();
  });
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`API hostile input on ${backend}`, () => {
    let e2e: E2eControlPlane | undefined;
    let db: TestDatabase | undefined;
    let skip: string | undefined;
    let base = '';

    before(async () => {
      let databaseUrl: string | undefined;
      if (backend === 'postgres') {
        const made = await createTestDatabase();
        if ('skip' in made) {
          skip = made.skip;
          return;
        }
        db = made;
        databaseUrl = db.url;
      }
      e2e = await startE2eControlPlane(
        `wharf-hostile-${backend}-`,
        { '1.0.0': {} },
        databaseUrl === undefined ? {} : { databaseUrl },
      );
      base = await withActors(e2e);
      assert.equal((await call(base, '/api/v1/deployments', { json: DEPLOYMENT })).status, 201);
    });
    after(async () => {
      await e2e?.stop();
      await db?.drop();
    });

    test('a NUL character in free text is a 400 naming the field, on every route, and nothing is stored', async (t) => {
      if (skip) return t.skip(skip);
      const before = (await call(base, '/api/v1/environments/staging/deployments/risk')).body;
      const scale = await call(base, '/api/v1/environments/staging/deployments/risk/scale', {
        json: { replicas: 0, reason: 'ok\u0000then' },
      });
      assert.equal(scale.status, 400, JSON.stringify(scale.body));
      assert.equal(scale.body.error?.field, 'reason');
      assert.match(scale.body.error!.message, /^reason: must not contain the NUL character/);
      const rollback = await call(base, '/api/v1/environments/staging/deployments/risk/rollback', {
        json: { reason: '\u0000' },
      });
      assert.equal(rollback.status, 400);
      assert.equal(rollback.body.error?.field, 'reason');
      const feedback = await call(base, '/api/v1/environments/staging/deployments/risk/feedback', {
        json: { requestId: 'a\u0000b', outcome: 1, revision: 1 },
      });
      assert.equal(feedback.status, 400);
      assert.equal(feedback.body.error?.field, 'requestId');
      const template = {
        name: 'nul',
        description: 'bad \u0000',
        metrics: [{ name: 'm', provider: { builtin: 'success-rate' }, successCondition: 'result >= 0.9' }],
      };
      const put = await call(base, '/api/v1/analysis-templates/nul', { method: 'PUT', json: template });
      assert.equal(put.status, 400);
      assert.equal(put.body.error?.field, 'description');
      const nested = await call(base, '/api/v1/deployments', {
        json: { ...DEPLOYMENT, name: 'other', metadata: { labels: { team: 'x\u0000' } } },
      });
      assert.equal(nested.status, 400);
      assert.equal(nested.body.error?.field, 'metadata.labels.team');
      const query = await call(base, '/api/v1/incidents?deployment=a%00b');
      assert.equal(query.status, 400);
      assert.equal(query.body.error?.field, 'deployment');
      const events = (await call(base, '/api/v1/environments/staging/deployments/risk/events')).body.items as {
        message?: string;
      }[];
      assert.ok(
        events.every((e) => !JSON.stringify(e).includes('\\u0000')),
        'nothing with a NUL was stored',
      );
      const after = (await call(base, '/api/v1/environments/staging/deployments/risk')).body;
      assert.equal(after.revision, before.revision, 'the refused scale and rollback made no revision');
      assert.equal(
        (await call(base, '/api/v1/environments/staging/deployments/other')).status,
        404,
        'the refused create wrote nothing',
      );
      assert.equal((await call(base, '/api/v1/analysis-templates/nul')).status, 404);
    });
  });
}

describe('API hostile input (SQLite control plane)', () => {
  let e2e: E2eControlPlane;
  let base = '';
  before(async () => {
    e2e = await startE2eControlPlane('wharf-hostile-', { '1.0.0': {} }, { maxJsonBodyBytes: 256 * 1024 });
    base = await withActors(e2e);
    assert.equal((await call(base, '/api/v1/deployments', { json: DEPLOYMENT })).status, 201);
  });
  after(() => e2e?.stop());

  test('a JSON body over the cap is a 413 naming the limit, declared or streamed', async () => {
    const big = JSON.stringify({ ...DEPLOYMENT, name: 'big', reason: 'x'.repeat(300 * 1024) });
    const declared = await call(base, '/api/v1/deployments', { body: big });
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error?.code, 'PAYLOAD_TOO_LARGE');
    assert.match(declared.body.error!.message, /^body: larger than the limit of 262144 bytes/);
    // A chunked body that never ends: the answer must come without the server reading it all.
    const endless = await endlessBody(`${base}/api/v1/deployments`, 64 * 1024 * 1024);
    assert.equal(endless.status, 413);
    assert.match(endless.body, /larger than the limit of 262144 bytes/);
    assert.ok(endless.sent < 16 * 1024 * 1024, `answered after ${endless.sent} bytes`);
    // The API still answers afterwards.
    assert.equal((await call(base, '/api/v1/deployments?environment=staging')).status, 200);
  });

  test('a model push is not held to the JSON cap: it streams to the registry under its own', async () => {
    const r = await fetch(`${base}/api/v1/models/junk/versions?version=1.0.0`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${actorTokens.get(base)!.alice}` },
      body: Buffer.alloc(1024 * 1024, 7),
    });
    const body = (await r.json()) as Answer['body'];
    assert.notEqual(r.status, 413, JSON.stringify(body));
    assert.equal(r.status, 400, JSON.stringify(body)); // not an ONNX model, but read whole
    const declared = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${base}/api/v1/models/junk/versions?version=1.0.1`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(2 * 1024 ** 3),
            authorization: `Bearer ${actorTokens.get(base)!.alice}`,
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    assert.equal(declared, 413, 'a declared length above the registry cap is refused before reading');
  });

  test('a bundle push is not held to the JSON cap either, whatever content type it claims', async () => {
    for (const contentType of ['application/octet-stream', 'application/json']) {
      const r = await fetch(`${base}/api/v1/bundles/junk/versions?version=1.0.0`, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${actorTokens.get(base)!.alice}` },
        body: Buffer.alloc(2 * 1024 * 1024, 7),
      });
      const body = (await r.json()) as Answer['body'];
      assert.equal(r.status, 400, `${contentType}: ${JSON.stringify(body)}`); // read whole: not a .tar.gz
      assert.match(JSON.stringify(body), /gzip-compressed tar archive/);
    }
  });

  test('a deeply nested template is a 400 naming the rule, and errors echo only a short prefix of a bad value', async () => {
    const deep = `{"name":"deep","metrics":[${'['.repeat(5000)}${']'.repeat(5000)}]}`;
    const nested = await call(base, '/api/v1/analysis-templates/deep', { method: 'PUT', body: deep });
    assert.equal(nested.status, 400, JSON.stringify(nested.body).slice(0, 300));
    assert.match(nested.body.error!.message, /must not nest deeper than 64 levels/);
    assert.ok(nested.body.error!.message.length < 400);
    // Every bad value shown in an error is cut short, whatever its size.
    const long = await call(base, '/api/v1/analysis-templates/long', {
      method: 'PUT',
      json: { name: 'long', description: 'y'.repeat(200_000), metrics: [] },
    });
    assert.equal(long.status, 400);
    assert.match(long.body.error!.message, /^description: /);
    assert.ok(JSON.stringify(long.body).length < 600, `error of ${JSON.stringify(long.body).length} characters`);
    const wide = await call(base, '/api/v1/analysis-templates/wide', {
      method: 'PUT',
      json: { name: 'wide', metrics: [{ name: 'm', provider: Array.from({ length: 20_000 }, () => 'z') }] },
    });
    assert.equal(wide.status, 400);
    assert.ok(JSON.stringify(wide.body).length < 600, `error of ${JSON.stringify(wide.body).length} characters`);
  });

  test('resources no host can run are refused, and requests must not exceed limits', async () => {
    const withResources = (name: string, resources: object) =>
      call(base, '/api/v1/deployments', { json: { ...DEPLOYMENT, name, configuration: { replicas: 0, resources } } });
    const cases: [object, string][] = [
      [{ limits: { cpu: '2000' } }, 'configuration.resources.limits.cpu'],
      [{ cpu: '1000000000' }, 'configuration.resources.cpu'],
      [{ cpu: '257' }, 'configuration.resources.cpu'],
      [{ memory: '999999Ti' }, 'configuration.resources.memory'],
      [{ memory: '5Ti' }, 'configuration.resources.memory'],
      [{ limits: { memory: '5Ti' } }, 'configuration.resources.limits.memory'],
      [{ cpu: '2', limits: { cpu: '1' } }, 'configuration.resources.limits.cpu'],
      [{ memory: '2Gi', limits: { memory: '1Gi' } }, 'configuration.resources.limits.memory'],
    ];
    for (const [resources, field] of cases) {
      const r = await withResources('res', resources);
      assert.equal(r.status, 400, `${JSON.stringify(resources)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error?.field, field, JSON.stringify(r.body));
    }
    const patched = await call(base, '/api/v1/environments/staging/deployments/risk', {
      method: 'PATCH',
      json: { configuration: { resources: { limits: { cpu: '2000' } } } },
    });
    assert.equal(patched.status, 400);
    assert.equal(patched.body.error?.field, 'configuration.resources.limits.cpu');
    const ok = await withResources('res', { cpu: '256', memory: '4Ti', limits: { cpu: '256', memory: '4Ti' } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  test('logs of an unknown replica are a 404 naming it', async () => {
    const r = await call(base, '/api/v1/environments/staging/deployments/risk/logs?replica=unknown');
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal(r.body.error?.field, 'replica');
    assert.match(r.body.error!.message, /no replica "unknown"/);
  });

  test('a continue token the deployments list cannot use is a 400 naming continue', async () => {
    for (const path of ['/api/v1/deployments?continue=junk', '/api/v1/deployments?environment=staging&continue=junk']) {
      const r = await call(base, path);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error?.field, 'continue');
    }
  });

  test('an unknown approval state is a 400 naming the parameter and the allowed values', async () => {
    for (const name of ['status', 'state']) {
      const r = await call(base, `/api/v1/approvals?${name}=junk`);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error?.field, name);
      assert.match(r.body.error!.message, /pending, approved, rejected, failed/);
    }
  });

  test('a wrong method is a 405 with Allow, on every API route; an unknown path stays a 404', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/api/v1/deployments', 'GET, HEAD, POST'],
      ['DELETE', '/api/v1/models', 'GET, HEAD'],
      ['POST', '/api/v1/environments/staging/deployments/risk/events', 'GET, HEAD'],
      ['GET', '/api/v1/environments/staging/deployments/risk/scale', 'POST'],
      ['POST', '/api/v1/analysis-templates/x', 'DELETE, GET, HEAD, PUT'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await call(base, path, { method, ...(method === 'GET' ? {} : { body: '{}' }) });
      assert.equal(r.status, 405, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
      assert.equal(r.body.error?.code, 'METHOD_NOT_ALLOWED');
    }
    assert.equal((await call(base, '/api/v1/nothing-here')).status, 404);
  });

  test('approvals are filtered by state before paging: a page is full when matches exist', async () => {
    assert.equal(
      (
        await call(base, '/api/v1/environments/production', {
          method: 'PATCH',
          json: { policies: { requiresApproval: true } },
        })
      ).status,
      200,
    );
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const r = await call(base, '/api/v1/deployments', {
        json: { ...DEPLOYMENT, environment: 'production', name: `gated-${i}` },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      ids.push((r.body.approval as { id: string }).id);
    }
    ids.sort(); // list order (ids sort by time; two made in the same millisecond sort by their random part)
    for (const id of ids.slice(0, 2))
      assert.equal((await call(base, `/api/v1/approvals/${id}/reject`, { json: {}, actor: 'bob' })).status, 200);
    const pending = await call(base, '/api/v1/approvals?environment=production&state=pending&limit=1');
    assert.deepEqual(
      (pending.body.items as { id: string }[]).map((a) => a.id),
      [ids[2]],
    );
    const rejected = await call(base, '/api/v1/approvals?status=rejected&limit=1');
    assert.deepEqual(
      (rejected.body.items as { id: string }[]).map((a) => a.id),
      [ids[0]],
    );
    assert.equal(typeof rejected.body.continue, 'string');
    const next = await call(
      base,
      `/api/v1/approvals?status=rejected&limit=1&continue=${rejected.body.continue as string}`,
    );
    assert.deepEqual(
      (next.body.items as { id: string }[]).map((a) => a.id),
      [ids[1]],
    );
  });

  test('incidents filter by deployment without an environment', async () => {
    const incident = (environment: string, name: string, n: number): NewResource<'Incident'> => ({
      id: `2026-01-01T00:00:0${n}.000Z-${n}`,
      environment,
      deploymentName: name,
      deployment: `${environment}.${name}`,
      revision: 1,
      time: new Date().toISOString(),
      reason: 'RolloutAborted',
      message: 'test',
    });
    await e2e.cp.store.incidents.create(incident('staging', 'risk', 1));
    await e2e.cp.store.incidents.create(incident('production', 'risk', 2));
    await e2e.cp.store.incidents.create(incident('staging', 'other', 3));
    const byName = await call(base, '/api/v1/incidents?deployment=risk');
    assert.deepEqual(
      (byName.body.items as Incident[]).map((i) => `${i.environment}.${i.deploymentName}`),
      ['staging.risk', 'production.risk'],
    );
    const both = await call(base, '/api/v1/incidents?deployment=risk&environment=production');
    assert.deepEqual(
      (both.body.items as Incident[]).map((i) => i.id),
      ['2026-01-01T00:00:02.000Z-2'],
    );
  });
});

describe('API while the PostgreSQL store is out of reach', () => {
  let e2e: E2eControlPlane | undefined;
  let db: TestDatabase | undefined;
  let skip: string | undefined;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>> | undefined;

  before(async () => {
    const made = await createTestDatabase();
    if ('skip' in made) {
      skip = made.skip;
      return;
    }
    db = made;
    const url = new URL(db.url);
    proxy = await cuttableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    url.hostname = '127.0.0.1';
    e2e = await startE2eControlPlane('wharf-outage-', { '1.0.0': {} }, { databaseUrl: url.toString() });
  });
  after(async () => {
    await proxy?.restore();
    await e2e?.stop();
    await proxy?.cut();
    await db?.drop();
  });

  test('reads and writes answer 503 with Retry-After, then recover by themselves', async (t) => {
    if (skip) return t.skip(skip);
    const base = await withActors(e2e!);
    assert.equal((await call(base, '/api/v1/deployments?environment=staging')).status, 200);
    await proxy!.cut();
    const read = await call(base, '/api/v1/deployments?environment=staging');
    assert.equal(read.status, 503, JSON.stringify(read.body));
    assert.equal(read.headers.get('retry-after'), '5');
    assert.equal(read.body.error?.code, 'UNAVAILABLE');
    const write = await call(base, '/api/v1/deployments', { json: DEPLOYMENT });
    assert.equal(write.status, 503, JSON.stringify(write.body));
    assert.ok(Number(write.headers.get('retry-after')) > 0);
    await proxy!.restore();
    await eventually(
      async () => ((await call(base, '/api/v1/deployments?environment=staging')).status === 200 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 100, message: 'the API to answer again once the store is back' },
    );
    assert.equal((await call(base, '/api/v1/deployments', { json: DEPLOYMENT })).status, 201);
  });
});
