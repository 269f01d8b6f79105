/**
 * The model server: one ONNX model behind the Open Inference Protocol v2 REST API, on plain
 * `node:http`. Lifecycle: listen (live, not ready) → load the model (ready) → on shutdown become
 * unready at once, answer new requests 503, let in-flight ones finish, then close.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MethodNotAllowedError, NotFoundError, UnavailableError, InvalidArgumentError } from '../core/errors.js';
import { applyConnectionLimits, LISTEN_BACKLOG, serverOptions } from '../core/http-server-limits.js';
import { WHARF_VERSION } from '../core/version.js';
import { AdaptiveBatcher, DirectScheduler, type Scheduler } from './batcher.js';
import { OrtExecutor } from './executor.js';
import { toHttpError } from './http-errors.js';
import { parseInferenceRequest } from './inference-request.js';
import { ResponseEncoder } from './inference-response.js';
import { ServerMetrics } from './metrics.js';
import {
  CONNECTION_DEFAULTS,
  DEFAULTS,
  type ModelServerOptions,
  type ResolvedOptions,
  stripUndefined,
} from './model-server-options.js';
import { type LoadedModel, loadModel } from './model.js';
import { readBody } from './request-body.js';
import { allowedMethods, type ModelRoute, parseRoute, type Route } from './routes.js';
import { DRAINING_HEADER } from '../protocol/headers.js';

export { CONNECTION_DEFAULTS, type ModelServerOptions } from './model-server-options.js';

type State = 'loading' | 'ready' | 'draining' | 'closed';

const JSON_TYPE = 'application/json';

/** One running model server. */
export class ModelServer {
  private readonly options: ResolvedOptions;
  private readonly http: Server;
  private readonly metrics: ServerMetrics;
  private state: State = 'loading';
  private model: LoadedModel | undefined;
  private scheduler: Scheduler | undefined;
  private encoder: ResponseEncoder | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  /** A tensor cannot have more elements than the body limit has bytes for (at least "0," each). */
  private readonly maxElements: number;

  constructor(options: ModelServerOptions) {
    this.options = { ...DEFAULTS, ...stripUndefined(options) } as ResolvedOptions;
    this.maxElements = Math.floor(this.options.maxBodyBytes / 2);
    this.metrics = new ServerMetrics({ model: options.name, version: this.options.version });
    const limits = { ...CONNECTION_DEFAULTS, ...stripUndefined(options.connections ?? {}) };
    this.http = createServer(serverOptions(limits), (req, res) => this.handle(req, res));
    applyConnectionLimits(this.http, limits, () => this.metrics.connectionRefused());
  }

  /** The model, once loaded. */
  get loadedModel(): LoadedModel | undefined {
    return this.model;
  }

  /** Whether batching is in effect (requested and possible for this model). */
  get batching(): boolean {
    return this.scheduler instanceof AdaptiveBatcher;
  }

  /** Base URL, e.g. http://127.0.0.1:8000, once listening. */
  get url(): string {
    const addr = this.http.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `http://${host}:${addr.port}`;
  }

  /** Listens, then loads the model. Rejects (after closing) if the port is taken or the model fails. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`port ${this.options.port} on ${this.options.host} is already in use`)
            : err,
        );
      });
      this.http.listen({ port: this.options.port, host: this.options.host, backlog: LISTEN_BACKLOG }, () => resolve());
    });
    try {
      const model = await loadModel(this.options.modelPath, {
        name: this.options.name,
        version: this.options.version,
        ...(this.options.intraOpThreads ? { intraOpThreads: this.options.intraOpThreads } : {}),
        ...(this.options.maxThreads ? { maxThreads: this.options.maxThreads } : {}),
      });
      const executor = new OrtExecutor(model, this.options.faults);
      this.scheduler =
        this.options.batching && model.batchable
          ? new AdaptiveBatcher(
              executor,
              { maxBatchSize: this.options.maxBatchSize, maxDelayUs: this.options.maxBatchDelayUs },
              this.metrics,
            )
          : new DirectScheduler(executor, this.metrics);
      this.encoder = new ResponseEncoder(model);
      this.model = model;
      this.metrics.modelLoaded(model.loadSeconds);
      if (this.state === 'loading') this.state = 'ready';
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Graceful stop: unready at once, new requests get 503, in-flight ones finish (up to the grace
   * period). Resolves true when everything drained, false when the grace period ran out.
   */
  async shutdown(): Promise<boolean> {
    if (this.state === 'closed') return true;
    this.state = 'draining';
    let drained = true;
    if (this.inFlight > 0) {
      drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.options.gracePeriodMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
    }
    await this.close();
    return drained;
  }

  private async close(): Promise<void> {
    this.state = 'closed';
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    await this.model?.session.release();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const route = parseRoute(req.url ?? '/');
    if (!route) {
      this.fail(res, new NotFoundError(`no such endpoint: ${req.method} ${req.url}`));
      return;
    }
    const allowed = allowedMethods(route);
    if (!allowed.includes(req.method ?? '')) {
      this.fail(
        res,
        new MethodNotAllowedError(`${req.method} is not allowed on ${req.url}; use ${allowed.join(' or ')}`, allowed),
      );
      return;
    }
    if (route.kind === 'infer') void this.infer(req, res, route);
    else void this.get(res, route);
  }

  private async get(res: ServerResponse, route: Route): Promise<void> {
    const ready = this.state === 'ready';
    switch (route.kind) {
      case 'live':
        return this.send(res, 200, '{"live":true}');
      case 'ready':
        return this.send(res, ready ? 200 : 503, `{"ready":${ready}}`);
      case 'server-metadata':
        return this.send(res, 200, JSON.stringify({ name: 'wharf', version: WHARF_VERSION, extensions: [] }));
      case 'metrics': {
        const { contentType, body } = await this.metrics.render();
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        return void res.end(body);
      }
      case 'model-ready':
        this.checkModel(route.model, route.version, res);
        if (res.writableEnded) return;
        return this.send(res, ready ? 200 : 503, JSON.stringify({ name: route.model, ready }));
      case 'model-metadata': {
        const model = this.checkModel(route.model, route.version, res);
        if (!model) return;
        const tensors = (list: LoadedModel['inputs']) =>
          list.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
        return this.send(
          res,
          200,
          JSON.stringify({
            name: model.name,
            versions: [model.version],
            platform: model.platform,
            inputs: tensors(model.inputs),
            outputs: tensors(model.outputs),
          }),
        );
      }
    }
  }

  /** Returns the model if name and version match; otherwise answers 404/503 and returns undefined. */
  private checkModel(name: string, version: string | undefined, res: ServerResponse): LoadedModel | undefined {
    const served = this.options.name;
    if (name !== served) {
      this.fail(res, new NotFoundError(`model '${name}' not found; this server serves '${served}'`));
      return undefined;
    }
    if (version !== undefined && version !== this.options.version) {
      this.fail(
        res,
        new NotFoundError(`model '${name}' has no version '${version}' (versions: ${this.options.version})`),
      );
      return undefined;
    }
    if (!this.model) {
      this.fail(res, new UnavailableError(`model '${name}' is not loaded yet`));
      return undefined;
    }
    return this.model;
  }

  private async infer(req: IncomingMessage, res: ServerResponse, route: ModelRoute): Promise<void> {
    const started = performance.now();
    this.inFlight++;
    this.metrics.requestStarted();
    let status = 200;
    try {
      if (this.state !== 'ready' && this.state !== 'loading')
        throw new UnavailableError('server is shutting down; retry on another replica');
      const model = this.checkModel(route.model, route.version, res);
      if (!model) {
        status = res.statusCode;
        return;
      }
      const body = await readBody(req, this.options.maxBodyBytes);
      const request = parseInferenceRequest(parseJson(body), model, this.maxElements);
      const tensors = await this.scheduler!.submit(request);
      this.send(res, 200, this.encoder!.encode(request.id, request.outputs, tensors));
    } catch (err) {
      status = this.fail(res, err);
    } finally {
      this.metrics.requestFinished(status, (performance.now() - started) / 1000);
      if (--this.inFlight === 0 && this.drained) this.drained();
    }
  }

  private send(res: ServerResponse, status: number, body: string): void {
    const headers: Record<string, string | number> = {
      'content-type': JSON_TYPE,
      'content-length': Buffer.byteLength(body),
    };
    // While draining, ask clients to reconnect elsewhere rather than reuse this connection, and
    // tell a gateway that this request was never run (so it may safely send it to another replica).
    if (this.state === 'draining') {
      headers.connection = 'close';
      if (status === 503) headers[DRAINING_HEADER] = '1';
    }
    res.writeHead(status, headers);
    res.end(body);
  }

  private fail(res: ServerResponse, err: unknown): number {
    const { status, body } = toHttpError(err);
    if (err instanceof MethodNotAllowedError) res.setHeader('allow', err.allowed.join(', '));
    if (status === 503) res.setHeader('retry-after', '1');
    // Past a 413 the rest of the body is unread: close so it is not parsed as the next request.
    if (status === 413) res.setHeader('connection', 'close');
    if (!res.headersSent) this.send(res, status, body);
    return status;
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`request body: malformed JSON (${(err as Error).message})`);
  }
}
