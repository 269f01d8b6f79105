/**
 * A seeded, deterministic pseudo-random generator for demo data and weights. `Math.random` cannot
 * be seeded, and the demo models must come out byte-identical on every machine so their sha256
 * (the registry's artifact address) is stable.
 */

/** A deterministic random source: the same seed always yields the same sequence. */
export interface Random {
  /** A uniform draw in [0, 1). */
  uniform(): number;
  /** A uniform draw in [min, max). */
  uniformIn(min: number, max: number): number;
  /** A normal draw with the given mean (default 0) and standard deviation (default 1). */
  normal(mean?: number, sd?: number): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
}

/**
 * Creates a mulberry32 generator seeded with a 32-bit integer, with Box-Muller normals.
 * mulberry32 is tiny and passes the usual statistical tests well enough for synthetic data; it
 * is not for cryptography.
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  // Box-Muller yields normals in pairs; keeping the second halves the cost and keeps the sequence
  // a pure function of the seed and the number of draws.
  let spare: number | undefined;

  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const standardNormal = (): number => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };

  return {
    uniform,
    uniformIn: (min, max) => min + (max - min) * uniform(),
    normal: (mean = 0, sd = 1) => mean + sd * standardNormal(),
    int: (n) => Math.floor(uniform() * n),
  };
}
