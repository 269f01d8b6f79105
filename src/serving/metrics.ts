/**
 * The model server's Prometheus metrics (prom-client: the maintained Node.js client, whose text
 * exposition passes promtool). Label children are resolved once and cached so the hot path does
 * no label hashing.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchObserver } from './batcher.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** Metrics for one served model. */
export class ServerMetrics implements BatchObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'model' | 'version' | 'code'>;
  private readonly latency: Histogram.Internal<'model' | 'version'>;
  private readonly batchRows: Histogram.Internal<'model' | 'version'>;
  private readonly batchRequests: Histogram.Internal<'model' | 'version'>;
  private readonly queueTime: Histogram.Internal<'model' | 'version'>;
  private readonly inFlight: Gauge.Internal<'model' | 'version'>;
  private readonly refused: Counter.Internal;
  private readonly byCode = new Map<number, Counter.Internal>();

  constructor(private readonly labels: { model: string; version: string }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges with a `_total` suffix, which Prometheus reserves for counters
    // (promtool rejects them); the same figures remain in nodejs_active_*` without the suffix.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
    this.requests = new Counter({
      name: 'wharf_inference_requests_total',
      help: 'Inference requests answered, by model, version and HTTP status code.',
      labelNames: ['model', 'version', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'wharf_inference_request_duration_seconds',
      help: 'Time from receiving an inference request to sending its response.',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    }).labels(labels);
    this.batchRows = new Histogram({
      name: 'wharf_inference_batch_size',
      help: 'Rows per model run (requests concatenated by adaptive batching).',
      labelNames: ['model', 'version'],
      buckets: BATCH_BUCKETS,
      registers,
    }).labels(labels);
    this.batchRequests = new Histogram({
      name: 'wharf_inference_batch_requests',
      help: 'Requests per model run.',
      labelNames: ['model', 'version'],
      buckets: BATCH_BUCKETS,
      registers,
    }).labels(labels);
    this.queueTime = new Histogram({
      name: 'wharf_inference_queue_duration_seconds',
      help: 'Time a request waited between validation and the start of its model run.',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    }).labels(labels);
    this.inFlight = new Gauge({
      name: 'wharf_inference_requests_in_flight',
      help: 'Inference requests received and not yet answered.',
      labelNames: ['model', 'version'],
      registers,
    }).labels(labels);
    this.refused = new Counter({
      name: 'wharf_model_server_connections_refused_total',
      help: 'Client connections answered 503 and closed because the server had its maximum open.',
      labelNames: ['model', 'version'],
      registers,
    }).labels(labels);
    this.refused.inc(0);
  }

  /** A client connection was refused (too many open). */
  connectionRefused(): void {
    this.refused.inc();
  }

  /** Records the model's load time once it is known. */
  modelLoaded(seconds: number): void {
    new Gauge({
      name: 'wharf_model_load_duration_seconds',
      help: 'Time ONNX Runtime took to load the model.',
      labelNames: ['model', 'version'],
      registers: [this.registry],
    }).set(this.labels, seconds);
  }

  requestStarted(): void {
    this.inFlight.inc();
  }

  requestFinished(code: number, seconds: number): void {
    this.inFlight.dec();
    this.latency.observe(seconds);
    let child = this.byCode.get(code);
    if (!child) {
      child = this.requests.labels({ ...this.labels, code: String(code) });
      this.byCode.set(code, child);
    }
    child.inc();
  }

  batch(rows: number, requests: number): void {
    this.batchRows.observe(rows);
    this.batchRequests.observe(requests);
  }

  queued(seconds: number): void {
    this.queueTime.observe(seconds);
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
