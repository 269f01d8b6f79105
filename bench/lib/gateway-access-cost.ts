/**
 * What the gateway's access filters cost per request, in process and without the network: the
 * bearer-token check of a protected route listing many tokens (for a token the route verified
 * before, and for one it sees for the first time: parse, SHA-256, constant-time compare), and a
 * token-bucket take among many callers. The end-to-end runs of the gateway benchmark measure the
 * same thing through the whole request path, where a shared machine's noise can hide a few
 * microseconds; these figures are what the filters add at most.
 */
import { performance } from 'node:perf_hooks';
import { newTokenString, tokenHash } from '../../src/core/identity/token-string.js';
import { TokenBuckets } from '../../src/gateway/rate-limiter.js';
import { RouteTokenCheck, TokenDirectory, VERIFIED_CACHE_SIZE } from '../../src/gateway/token-check.js';

/** Nanoseconds per call of each filter's work. */
export interface AccessCost {
  /** A token the route has verified before (its verified-header memory). */
  tokenCheckNs: number;
  /** A token seen for the first time in the table: parsed, hashed, compared. */
  tokenCheckColdNs: number;
  bucketTakeNs: number;
  /** Tokens listed on the route, and distinct callers of the buckets. */
  tokens: number;
  callers: number;
}

function nsPerCall(calls: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(calls, 20_000); i++) f(i); // warm-up: JIT
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) f(i);
  return ((performance.now() - t0) * 1e6) / calls;
}

/** Measures both filters' work over `calls` calls each. */
export function measureAccessCost(calls = 200_000, tokens = 1_000, callers = 10_000): AccessCost {
  const now = Date.now();
  /** ns per check of `listed` tokens presented in turn; throws if one is refused. */
  const checkCost = (listed: number): number => {
    const minted = Array.from({ length: listed }, () => newTokenString());
    const auth = { tokens: minted.map((t) => ({ id: t.id, hash: tokenHash(t.token), expiresAt: null })) };
    const directory = new TokenDirectory();
    directory.add(auth);
    const check = new RouteTokenCheck(auth, directory);
    const headers = minted.map((t) => `Bearer ${t.token}`);
    let refused = 0;
    const ns = nsPerCall(calls, (i) => {
      if (!check.check(headers[i % listed], now).ok) refused++;
    });
    if (refused > 0) throw new Error(`the token check refused ${refused} good tokens`);
    return ns;
  };
  const tokenCheckNs = checkCost(tokens);
  // More tokens in turn than the route remembers: every check parses and hashes.
  const tokenCheckColdNs = checkCost(VERIFIED_CACHE_SIZE * 3);
  const buckets = new TokenBuckets({ requestsPerSecond: 1_000_000, burst: 1_000_000, per: 'client' });
  const keys = Array.from({ length: callers }, (_, i) => `a 10.0.${i >> 8}.${i & 255}`);
  const bucketTakeNs = nsPerCall(calls, (i) => void buckets.take(keys[i % callers]!));
  return { tokenCheckNs, tokenCheckColdNs, bucketTakeNs, tokens, callers };
}
