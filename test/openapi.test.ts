/**
 * `/api/v1/openapi.json` describes every body: each operation has a non-empty schema for its
 * success answer and the API's error schema for its 4xx answers; and real answers of a running
 * control plane (deployments, revisions, events, diff, models, rollouts, approvals, incidents,
 * environments, autoscaling, analysis templates, and the errors) validate against the schemas of
 * the document itself (with ajv), so a body that drifts from its schema fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';

interface Operation {
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
}

const DEPLOYMENT = {
  name: 'risk',
  environment: 'staging',
  model: { name: 'risk', version: '1.0.0' },
  configuration: { replicas: 0 },
};

describe('the OpenAPI document', () => {
  let e2e: E2eControlPlane;
  let doc: OpenApiDocument;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validators = new Map<string, ValidateFunction>();

  /**
   * An OpenAPI 3.0 schema as JSON Schema for ajv: `nullable` without a `type` (what an unknown value
   * becomes) says nothing more than `{}`, and ajv refuses it.
   */
  function jsonSchema(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(jsonSchema);
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value).filter(([k]) => !(k === 'nullable' && !('type' in value)));
    return Object.fromEntries(entries.map(([k, v]) => [k, jsonSchema(v)]));
  }

  /** The document's schema for `status` of `method path`, compiled (with the document's components for $refs). */
  function schemaOf(method: string, path: string, status: number): ValidateFunction {
    const key = `${method} ${path} ${status}`;
    let validate = validators.get(key);
    if (validate === undefined) {
      const schema = doc.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json']?.schema;
      assert.ok(schema, `the document has no schema for ${key}`);
      validate = ajv.compile(jsonSchema({ ...schema, components: doc.components }) as object);
      validators.set(key, validate);
    }
    return validate;
  }

  const actorTokens = new Map<string, string>();
  /** A token acting as `actor`, minted once. */
  async function tokenOf(actor: string): Promise<string> {
    if (!actorTokens.has(actor)) actorTokens.set(actor, await e2e.tokenFor(actor));
    return actorTokens.get(actor)!;
  }

  /** Calls the API and checks the answer's status and that its body matches the document's schema. */
  async function conforms(
    method: string,
    path: string,
    url: string,
    status: number,
    json?: unknown,
    actor = 'alice',
  ): Promise<Record<string, unknown>> {
    const r = await fetch(`${e2e.cp.apiUrl}${url}`, {
      method: method.toUpperCase(),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenOf(actor)}` },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    const body = (await r.json()) as Record<string, unknown>;
    assert.equal(r.status, status, `${method} ${url}: ${JSON.stringify(body)}`);
    const validate = schemaOf(method, path, status);
    assert.ok(
      validate(body),
      `${method} ${url} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
    return body;
  }

  before(async () => {
    e2e = await startE2eControlPlane('wharf-openapi-', { '1.0.0': {}, '1.1.0': { stage: 'candidate' } });
    doc = (await (
      await fetch(`${e2e.cp.apiUrl}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${e2e.adminToken}` } })
    ).json()) as OpenApiDocument;
  });
  after(() => e2e?.stop());

  test('every operation has a non-empty success schema and the error schema for its 4xx answers', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
    );
    assert.ok(operations.length >= 30, `only ${operations.length} operations`);
    // Routes served by plain handlers (streams, bytes) are in the document too.
    for (const path of [
      '/api/v1/routes',
      '/api/v1/routes/watch',
      '/api/v1/environments/{environment}/deployments/{name}/logs',
      '/api/v1/blobs/{digest}',
    ])
      assert.ok(doc.paths[path]?.get, `GET ${path} is not in the document`);
    const errorSchema = JSON.stringify(doc.components.schemas && (doc.components.schemas as { Error?: unknown }).Error);
    assert.match(errorSchema, /"error"/, 'the document has the Error component');
    for (const { name, op } of operations) {
      const statuses = Object.keys(op.responses);
      const success = statuses.filter((s) => s.startsWith('2'));
      assert.ok(success.length > 0, `${name}: no success answer`);
      for (const s of success) {
        const media = Object.values(op.responses[s]!.content ?? {});
        assert.ok(media.length > 0, `${name} ${s}: no body`);
        for (const { schema } of media)
          assert.ok(schema !== undefined && Object.keys(schema).length > 0, `${name} ${s}: empty schema`);
      }
      // Any input (a path or query parameter, a body) can be refused; every operation but the route
      // table's (held in memory) uses the store, which may be out of reach.
      const clientErrors = statuses.filter((s) => s.startsWith('4'));
      if ((op.parameters ?? []).length > 0 || op.requestBody !== undefined)
        assert.ok(clientErrors.includes('400'), `${name}: takes input but declares no 400`);
      if (op.requestBody !== undefined) assert.ok(clientErrors.includes('413'), `${name}: takes a body but no 413`);
      const storeless = name.startsWith('GET /api/v1/routes');
      for (const s of [...clientErrors, ...(storeless ? [] : ['503'])]) {
        const schema = op.responses[s]?.content?.['application/json']?.schema;
        assert.deepEqual(schema, { $ref: '#/components/schemas/Error' }, `${name} ${s}`);
      }
    }
  });

  test('real answers of a running API match the schemas of the document', async () => {
    const at = '/api/v1/environments/{environment}/deployments/{name}';
    const staging = '/api/v1/environments/staging/deployments/risk';
    await conforms('post', '/api/v1/deployments', '/api/v1/deployments', 201, DEPLOYMENT);
    await conforms('get', '/api/v1/deployments', '/api/v1/deployments', 200);
    await conforms('get', '/api/v1/deployments', '/api/v1/deployments?environment=staging&limit=1', 200);
    await conforms('get', at, staging, 200);
    await conforms('patch', at, staging, 200, {
      model: { name: 'risk', version: '1.1.0' },
      strategy: { type: 'canary', canary: { steps: [{ setWeight: 20 }, { pause: {} }] } },
    });
    await conforms('post', `${at}/scale`, `${staging}/scale`, 200, { replicas: 0 });
    await conforms('get', `${at}/revisions`, `${staging}/revisions`, 200);
    await conforms('get', `${at}/revisions/{number}`, `${staging}/revisions/1`, 200);
    await conforms('get', `${at}/diff`, `${staging}/diff?a=1&b=2`, 200);
    await conforms('get', `${at}/events`, `${staging}/events`, 200);
    await conforms('get', `${at}/autoscaling`, `${staging}/autoscaling`, 200);
    await conforms('post', `${at}/activate`, `${staging}/activate`, 202);
    await conforms('get', `${at}/ab-results`, `${staging}/ab-results`, 200);
    await conforms('post', `${at}/abort`, `${staging}/abort`, 200, {});

    await conforms('get', '/api/v1/models', '/api/v1/models', 200);
    await conforms('get', '/api/v1/models/{name}', '/api/v1/models/risk', 200);
    await conforms('get', '/api/v1/models/{name}/versions', '/api/v1/models/risk/versions', 200);
    await conforms('get', '/api/v1/models/{name}/versions/{version}', '/api/v1/models/risk/versions/1.0.0', 200);

    await conforms('get', '/api/v1/environments', '/api/v1/environments', 200);
    await conforms('patch', '/api/v1/environments/{name}', '/api/v1/environments/production', 200, {
      policies: { requiresApproval: true },
    });
    const pending = await conforms('post', '/api/v1/deployments', '/api/v1/deployments', 202, {
      ...DEPLOYMENT,
      environment: 'production',
    });
    const id = (pending.approval as { id: string }).id;
    await conforms('get', '/api/v1/approvals', '/api/v1/approvals?state=pending', 200);
    await conforms('get', '/api/v1/approvals/{id}', `/api/v1/approvals/${id}`, 200);
    await conforms('post', '/api/v1/approvals/{id}/reject', `/api/v1/approvals/${id}/reject`, 200, {}, 'bob');
    await conforms('get', '/api/v1/incidents', '/api/v1/incidents', 200);

    await conforms('get', '/api/v1/analysis-templates', '/api/v1/analysis-templates', 200);
    await conforms('get', '/api/v1/routes', '/api/v1/routes', 200);
    await conforms('get', '/api/v1/analysis-templates/{name}', '/api/v1/analysis-templates/success-rate', 200);
  });

  test('error answers match the error schema of the document', async () => {
    const at = '/api/v1/environments/{environment}/deployments/{name}';
    await conforms('get', at, '/api/v1/environments/staging/deployments/nope', 404);
    await conforms('post', '/api/v1/deployments', '/api/v1/deployments', 400, { name: 'Bad Name' });
    await conforms('get', '/api/v1/models/{name}', '/api/v1/models/nope', 404);
    await conforms('post', '/api/v1/approvals/{id}/approve', '/api/v1/approvals/nope/approve', 404, {});
  });
});
