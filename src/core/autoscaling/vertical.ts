/**
 * Vertical recommendations: what a replica's CPU and memory requests should be, from measured
 * usage (Kubernetes VPA's idea, kept simple and explained). Pure.
 *
 * CPU is compressible, so the request covers the 90th percentile with 15% headroom: a rare spike
 * is throttled, not fatal. Memory is not: the request covers the peak with 20% headroom, and the
 * suggested limit the peak with 50%, because running out means being killed.
 *
 * @example
 *   recommendResources(samples, { cpu: '500m', memory: '512Mi' });
 *   // { cpu: '230m', memory: '310Mi', memoryLimit: '387Mi', change: { cpu: 'lower', memory: 'lower' }, … }
 */
import { InvalidArgumentError } from '../errors.js';
import { formatCpu, formatMemory, parseCpu, parseMemory } from '../quantities.js';

/** Fewest usable samples a recommendation is made from. */
export const MIN_VERTICAL_SAMPLES = 30;

/** One measurement of one replica's usage. */
export interface UsageSample {
  cpuCores: number;
  memoryBytes: number;
}

/** Raise, lower or keep a request; `keep` when the recommendation is within ±10% of it. */
export type RequestChange = 'raise' | 'lower' | 'keep';

/** Recommended requests per replica, as Kubernetes quantities, with the numbers they came from. */
export interface VerticalRecommendation {
  /** CPU request, e.g. `'230m'`. */
  cpu: string;
  /** Memory request, e.g. `'310Mi'`. */
  memory: string;
  /** Suggested memory limit. */
  memoryLimit: string;
  /** One sentence with the measured numbers. */
  basis: string;
  /** Usable samples the recommendation is based on. */
  samples: number;
  change: { cpu: RequestChange; memory: RequestChange };
}

const CPU_PERCENTILE = 0.9;
const CPU_HEADROOM = 1.15;
const MEMORY_HEADROOM = 1.2;
const MEMORY_LIMIT_HEADROOM = 1.5;
const MIN_CPU_CORES = 0.01;
const MIN_MEMORY_BYTES = 32 * 2 ** 20;
/** A recommendation this close to the current request (as a fraction of it) is not worth a change. */
const KEEP_WITHIN = 0.1;

/**
 * The recommended requests for `samples` (samples with a negative or non-finite number are
 * skipped), or undefined with fewer than {@link MIN_VERTICAL_SAMPLES} usable ones. `requests` are
 * the current per-replica requests, e.g. `{ cpu: '500m', memory: '512Mi' }`.
 */
export function recommendResources(
  samples: readonly UsageSample[],
  requests: { cpu: string; memory: string },
): VerticalRecommendation | undefined {
  const currentCpu = parseCpu(requests.cpu);
  const currentMemory = parseMemory(requests.memory);
  if (!(currentCpu > 0))
    throw new InvalidArgumentError(
      `requests.cpu: must be a positive CPU quantity such as '500m', got ${JSON.stringify(requests.cpu)}`,
    );
  if (!(currentMemory > 0))
    throw new InvalidArgumentError(
      `requests.memory: must be a positive memory quantity such as '512Mi', got ${JSON.stringify(requests.memory)}`,
    );

  const usable = samples.filter((s) => isUsable(s.cpuCores) && isUsable(s.memoryBytes));
  if (usable.length < MIN_VERTICAL_SAMPLES) return undefined;
  const cpuSorted = usable.map((s) => s.cpuCores).sort((a, b) => a - b);
  const p90 = cpuSorted[Math.ceil(CPU_PERCENTILE * cpuSorted.length) - 1]!;
  const peakCpu = cpuSorted.at(-1)!;
  const peakMemory = Math.max(...usable.map((s) => s.memoryBytes));

  const cpu = formatCpu(Math.max(MIN_CPU_CORES, p90 * CPU_HEADROOM));
  const memoryBytes = Math.max(MIN_MEMORY_BYTES, peakMemory * MEMORY_HEADROOM);
  const memory = formatMemory(memoryBytes);
  const memoryLimit = formatMemory(Math.max(memoryBytes, peakMemory * MEMORY_LIMIT_HEADROOM));
  const basis =
    `over ${usable.length} samples CPU p90 was ${cores(p90)} (peak ${cores(peakCpu)}) and memory peaked at ${mebibytes(peakMemory)}: ` +
    `CPU request ${cpu} (p90 + 15%, at least 10m), memory request ${memory} (peak + 20%, at least 32Mi), memory limit ${memoryLimit} (peak + 50%)`;
  return {
    cpu,
    memory,
    memoryLimit,
    basis,
    samples: usable.length,
    change: { cpu: changeOf(parseCpu(cpu), currentCpu), memory: changeOf(parseMemory(memory), currentMemory) },
  };
}

function isUsable(x: number): boolean {
  return Number.isFinite(x) && x >= 0;
}

function changeOf(recommended: number, current: number): RequestChange {
  if (Math.abs(recommended - current) <= KEEP_WITHIN * current) return 'keep';
  return recommended > current ? 'raise' : 'lower';
}

function cores(x: number): string {
  const rounded = Math.round(x * 1000) / 1000;
  return `${rounded} core${rounded === 1 ? '' : 's'}`;
}

function mebibytes(bytes: number): string {
  return `${Math.round((bytes / 2 ** 20) * 10) / 10}Mi`;
}
