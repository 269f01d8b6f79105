/**
 * Kubernetes resource quantities as numbers and back: CPU in cores (`500m` = 0.5, `2` = 2) and
 * memory in bytes (`512Mi`, `1Gi`, `1G`, plain bytes). Pure. Inputs are assumed valid (the
 * deployment spec's rules check them); anything unparsable gives NaN.
 */

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Cores in a CPU quantity: `'500m'` → 0.5, `'1.5'` → 1.5 (millicores are whole numbers). */
export function parseCpu(quantity: string): number {
  const m = /^(?:(\d+)m|(\d+(?:\.\d+)?))$/.exec(quantity);
  if (m === null) return Number.NaN;
  return m[1] !== undefined ? Number(m[1]) / 1000 : Number(m[2]);
}

/** Bytes in a memory quantity: `'512Mi'` → 536870912. */
export function parseMemory(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (m === null) return Number.NaN;
  return Math.round(Number(m[1]) * MEMORY_UNITS[m[2] ?? '']!);
}

/** True for a CPU quantity above zero, such as `'500m'` or `'2'`. */
export function isPositiveCpu(value: unknown): value is string {
  return typeof value === 'string' && parseCpu(value) > 0;
}

/** True for a memory quantity above zero, such as `'512Mi'` or `'1G'`. */
export function isPositiveMemory(value: unknown): value is string {
  return typeof value === 'string' && parseMemory(value) > 0;
}

/**
 * The most a deployment may ask for, request or limit: above these nothing can run it (a cpu
 * limit becomes the model server's `--threads`, which stops at 1024; no single host here has
 * more than a few TiB), so such a spec is refused when written instead of crash-looping later.
 */
export const MAX_CPU_CORES = 256;
/** 4 TiB. */
export const MAX_MEMORY_BYTES = 4 * 2 ** 40;
/** How the bounds read in error messages. */
export const CPU_RANGE_TEXT = `from 1m to ${MAX_CPU_CORES} cores`;
export const MEMORY_RANGE_TEXT = 'above 0 and at most 4Ti';

/** True for a CPU quantity above zero and at most {@link MAX_CPU_CORES}. */
export function isCpuInRange(value: unknown): value is string {
  return isPositiveCpu(value) && parseCpu(value) <= MAX_CPU_CORES;
}

/** True for a memory quantity above zero and at most {@link MAX_MEMORY_BYTES}. */
export function isMemoryInRange(value: unknown): value is string {
  return isPositiveMemory(value) && parseMemory(value) <= MAX_MEMORY_BYTES;
}

/** The CPU quantity for `cores`, rounded up to whole millicores: 0.6312 → `'632m'`, 2 → `'2'`. */
export function formatCpu(cores: number): string {
  const milli = Math.max(1, Math.ceil(cores * 1000 - 1e-9));
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** The memory quantity for `bytes`, rounded up to whole MiB (`'640Mi'`), or GiB when exact. */
export function formatMemory(bytes: number): string {
  const mib = Math.max(1, Math.ceil(bytes / 2 ** 20 - 1e-9));
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}
