/**
 * The rules of a deployment's `healthCheck` extras (liveness path, startup timeout, dependencies)
 * and of `resources.limits`. Pure; every failure names its field, like the rest of the spec.
 */
import {
  CPU_RANGE_TEXT,
  isCpuInRange,
  isMemoryInRange,
  MEMORY_RANGE_TEXT,
  parseCpu,
  parseMemory,
} from './quantities.js';
import { allowOnly, dnsLabel, fail, object } from './validation.js';

/** Keys allowed in `configuration.healthCheck`. */
export const HEALTH_CHECK_FIELDS = [
  'path',
  'interval',
  'timeout',
  'retries',
  'livenessPath',
  'startupTimeout',
  'dependencies',
] as const;
/** Keys allowed in `configuration.resources`. */
export const RESOURCE_FIELDS = ['cpu', 'memory', 'gpu', 'limits'] as const;

/** Most dependencies one deployment may declare. */
export const MAX_DEPENDENCIES = 10;

const PATH = /^\/[\x21-\x7e]*$/;

function seconds(value: unknown, field: string, max: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max)
    fail(field, `must be a number of seconds above 0 and at most ${max}`, value);
}

/** Checks the optional fields of `configuration.healthCheck` (the four basic ones are checked by the spec). */
export function validateHealthCheckExtras(h: Record<string, unknown>, field = 'configuration.healthCheck'): void {
  if (h.livenessPath !== undefined && (typeof h.livenessPath !== 'string' || !PATH.test(h.livenessPath))) {
    fail(`${field}.livenessPath`, "must be an absolute URL path such as '/v2/health/live'", h.livenessPath);
  }
  if (h.startupTimeout !== undefined) seconds(h.startupTimeout, `${field}.startupTimeout`, 3600);
  if (h.dependencies === undefined) return;
  if (!Array.isArray(h.dependencies)) fail(`${field}.dependencies`, 'must be a list', h.dependencies);
  if (h.dependencies.length > MAX_DEPENDENCIES)
    fail(`${field}.dependencies`, `must have at most ${MAX_DEPENDENCIES} entries, got ${h.dependencies.length}`);
  const names = new Set<string>();
  h.dependencies.forEach((raw, i) => {
    const f = `${field}.dependencies[${i}]`;
    const d = object(raw, f);
    allowOnly(d, f, ['name', 'http', 'tcp', 'interval', 'timeout']);
    const name = dnsLabel(d.name, `${f}.name`);
    if (names.has(name)) fail(`${f}.name`, 'must be unique among the dependencies', name);
    names.add(name);
    if ((d.http === undefined) === (d.tcp === undefined)) fail(f, "must set exactly one of 'http' and 'tcp'");
    if (d.http !== undefined && !isHttpUrl(d.http))
      fail(`${f}.http`, "must be an http:// or https:// URL such as 'http://features:8080/health'", d.http);
    if (d.tcp !== undefined && parseHostPort(d.tcp) === undefined)
      fail(`${f}.tcp`, "must be 'host:port' with a port from 1 to 65535", d.tcp);
    if (d.interval !== undefined) seconds(d.interval, `${f}.interval`, 3600);
    if (d.timeout !== undefined)
      seconds(d.timeout, `${f}.timeout`, (d.interval as number | undefined) ?? (h.interval as number));
  });
}

/** Checks `configuration.resources.limits` against the requests beside it. */
export function validateResourceLimits(r: Record<string, unknown>, field = 'configuration.resources'): void {
  if (r.limits === undefined) return;
  const limits = object(r.limits, `${field}.limits`);
  allowOnly(limits, `${field}.limits`, ['cpu', 'memory']);
  if (limits.cpu !== undefined) {
    if (!isCpuInRange(limits.cpu))
      fail(`${field}.limits.cpu`, `must be a CPU quantity ${CPU_RANGE_TEXT}, such as '1' or '1500m'`, limits.cpu);
    if (typeof r.cpu === 'string' && parseCpu(limits.cpu) < parseCpu(r.cpu))
      fail(`${field}.limits.cpu`, `must be at least resources.cpu (${r.cpu})`, limits.cpu);
  }
  if (limits.memory !== undefined) {
    if (!isMemoryInRange(limits.memory))
      fail(`${field}.limits.memory`, `must be a memory quantity ${MEMORY_RANGE_TEXT}, such as '1Gi'`, limits.memory);
    if (typeof r.memory === 'string' && parseMemory(limits.memory) < parseMemory(r.memory))
      fail(`${field}.limits.memory`, `must be at least resources.memory (${r.memory})`, limits.memory);
  }
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** `'host:port'` → its parts, or undefined when malformed (IPv6 hosts in brackets: `[::1]:5432`). */
export function parseHostPort(value: unknown): { host: string; port: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
