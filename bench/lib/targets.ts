/**
 * The servers the serving benchmark compares: how to start each one, where to POST, what to send,
 * and how to read the prediction out of its answer.
 */
import { join } from 'node:path';
import { SYSTEM_PYTHON, type BaselineFixture } from './fixtures.js';
import { freePort } from './http.js';
import { startServer, type ServerProcess } from './processes.js';

/** One server under test, with the request it is measured with. */
export interface Target {
  /** Short key used in the results file, e.g. `a` or `mlp-batching`. */
  id: string;
  /** What the table prints, e.g. `(a) Wharf, batching off`. */
  label: string;
  /** Inference path appended to the server's base URL. */
  path: string;
  /** The request body wrk sends; one row. */
  body: string;
  /** Extra request headers sent with every request (e.g. `authorization`). */
  headers?: Readonly<Record<string, string>>;
  rowsPerRequest: number;
  start(): Promise<ServerProcess>;
  /** The output values in a response body; throws when the body does not have the expected shape. */
  outputs(json: unknown): number[];
}

/** Reads `outputs[name].data` from an inference-protocol response. */
export function protocolOutputs(json: unknown, name: string): number[] {
  const outputs = (json as { outputs?: { name?: unknown; data?: unknown }[] } | undefined)?.outputs;
  const output = Array.isArray(outputs) ? outputs.find((o) => o.name === name) : undefined;
  if (!output || !Array.isArray(output.data) || !output.data.every((v) => typeof v === 'number')) {
    throw new Error(`response has no numeric outputs[name=${name}].data: ${JSON.stringify(json).slice(0, 300)}`);
  }
  return output.data as number[];
}

/** How to run one Wharf model server. */
export interface WharfTargetOptions {
  id: string;
  label: string;
  repoRoot: string;
  model: string;
  name: string;
  batching: boolean;
  body: string;
  outputName: string;
  /** Extra flags, e.g. `--max-batch-size 64`, from BENCH_WHARF_ARGS. */
  extraArgs?: readonly string[];
}

/** A Wharf model server (`wharf serve-model`) on a free loopback port. */
export function wharfTarget(opts: WharfTargetOptions): Target {
  return {
    id: opts.id,
    label: opts.label,
    path: `/v2/models/${encodeURIComponent(opts.name)}/infer`,
    body: opts.body,
    rowsPerRequest: 1,
    async start() {
      const port = await freePort();
      const args = [join(opts.repoRoot, 'bin/wharf.js'), 'serve-model', '--model', opts.model, '--name', opts.name];
      args.push(
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        ...(opts.batching ? [] : ['--no-batching']),
        ...(opts.extraArgs ?? []),
      );
      // The URL is taken from what the server prints, as its contract says, rather than assumed from the port.
      return startServer({
        name: opts.label,
        command: process.execPath,
        args,
        cwd: opts.repoRoot,
        readyPath: '/v2/health/ready',
      });
    },
    outputs: (json) => protocolOutputs(json, opts.outputName),
  };
}

/** The FastAPI + scikit-learn baseline: one uvicorn worker, as its README runs it. */
export function baselineTarget(fixture: BaselineFixture): Target {
  return {
    id: 'c',
    label: '(c) FastAPI + sklearn',
    path: '/predict',
    body: fixture.sampleBody,
    rowsPerRequest: 1,
    async start() {
      const port = await freePort();
      return startServer({
        name: 'uvicorn baseline',
        command: SYSTEM_PYTHON,
        args: ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning'],
        cwd: fixture.seedStackDir,
        env: { ...process.env, MODEL: fixture.modelPkl },
        url: `http://127.0.0.1:${port}`,
        readyPath: '/health',
      });
    },
    outputs(json) {
      const predictions = (json as { predictions?: unknown } | undefined)?.predictions;
      if (!Array.isArray(predictions) || typeof predictions[0] !== 'number') {
        throw new Error(`response has no numeric predictions: ${JSON.stringify(json).slice(0, 300)}`);
      }
      return predictions as number[];
    },
  };
}

/**
 * The body the ceiling server answers with: the shape and size of Wharf's response for the sample
 * row, carrying the baseline's probability so the same verification applies to it.
 */
export function ceilingResponseBody(modelName: string, probability: number): string {
  return JSON.stringify({
    model_name: modelName,
    model_version: '1',
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [1, 1], data: [probability] }],
  });
}

/** A bare `node:http` server answering every request with `responseBody`: the ceiling. */
export function ceilingTarget(serverScript: string, requestBody: string, responseBody: string): Target {
  return {
    id: 'd',
    label: '(d) bare node:http',
    path: '/v2/models/readmission/infer',
    body: requestBody,
    rowsPerRequest: 1,
    start: () =>
      startServer({
        name: 'fixed-response server',
        command: process.execPath,
        args: [serverScript, '0', responseBody],
        readyPath: '/',
      }),
    outputs: (json) => protocolOutputs(json, 'probability'),
  };
}

/** Bare node:http plus one ONNX Runtime run per request: a diagnostic reference (see the script). */
export function ortPerRequestTarget(serverScript: string, model: string, requestBody: string): Target {
  return {
    id: 'e',
    label: '(e) node:http + ORT run',
    path: '/v2/models/readmission/infer',
    body: requestBody,
    rowsPerRequest: 1,
    start: () =>
      startServer({
        name: 'ORT-per-request server',
        command: process.execPath,
        args: [serverScript, '0', model],
        readyPath: '/',
      }),
    outputs: (json) => protocolOutputs(json, 'probability'),
  };
}
