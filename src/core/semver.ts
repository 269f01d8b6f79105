/**
 * Strict Semantic Versioning 2.0.0 (https://semver.org): parsing and precedence. No ranges, no
 * coercion, no leading `v`: model versions are exact identifiers, so anything the spec does not
 * allow is rejected rather than guessed at. Pure: no I/O.
 *
 * Written here instead of depending on the `semver` package, which accepts loose forms (`v1.0.0`,
 * `=1.0.0`) unless every call site remembers to pass the strict options.
 */
import { InvalidArgumentError } from './errors.js';

/** A parsed version. Numeric parts are bigints: the spec puts no bound on them. */
export interface SemVer {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  /** Dot-separated pre-release identifiers, e.g. `['rc', '1']`; empty for a release. */
  readonly prerelease: readonly string[];
  /** Build metadata identifiers; ignored by precedence. */
  readonly build: readonly string[];
}

/** Longer than any sane version; bounds the work done on hostile input. */
export const MAX_SEMVER_LENGTH = 256;

// The regular expression semver.org recommends, with named groups.
const SEMVER =
  /^(?<major>0|[1-9]\d*)\.(?<minor>0|[1-9]\d*)\.(?<patch>0|[1-9]\d*)(?:-(?<pre>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+(?<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const NUMERIC = /^\d+$/;

/**
 * Parses a strict SemVer 2.0.0 string; throws {@link InvalidArgumentError} naming `field` and the
 * rule.
 *
 * @example
 *   parseSemver('1.4.0-rc.1+git.abc').prerelease // ['rc', '1']
 *   parseSemver('v1.0.0') // throws "version: must be a semantic version MAJOR.MINOR.PATCH ..."
 */
export function parseSemver(text: string, field = 'version'): SemVer {
  if (typeof text !== 'string' || text.length > MAX_SEMVER_LENGTH) {
    throw new InvalidArgumentError(`${field}: must be a string of at most ${MAX_SEMVER_LENGTH} characters`);
  }
  const groups = SEMVER.exec(text)?.groups;
  if (groups === undefined) {
    throw new InvalidArgumentError(
      `${field}: must be a semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (SemVer 2.0.0, no leading 'v', ` +
        `no leading zeros), got ${JSON.stringify(text)}`,
    );
  }
  return {
    major: BigInt(groups.major!),
    minor: BigInt(groups.minor!),
    patch: BigInt(groups.patch!),
    prerelease: groups.pre === undefined ? [] : groups.pre.split('.'),
    build: groups.build === undefined ? [] : groups.build.split('.'),
  };
}

/** True when `text` is a strict SemVer 2.0.0 version. */
export function isSemver(text: string): boolean {
  return typeof text === 'string' && text.length <= MAX_SEMVER_LENGTH && SEMVER.test(text);
}

/** The canonical text of a version (what {@link parseSemver} read). */
export function formatSemver(v: SemVer): string {
  const pre = v.prerelease.length > 0 ? `-${v.prerelease.join('.')}` : '';
  const build = v.build.length > 0 ? `+${v.build.join('.')}` : '';
  return `${v.major}.${v.minor}.${v.patch}${pre}${build}`;
}

function sign(a: bigint, b: bigint): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Spec §11.4: numeric identifiers compare numerically and sort before alphanumeric ones, which
// compare in ASCII order.
function compareIdentifier(a: string, b: string): -1 | 0 | 1 {
  const an = NUMERIC.test(a);
  const bn = NUMERIC.test(b);
  if (an && bn) return sign(BigInt(a), BigInt(b));
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Precedence (spec §11): -1, 0 or 1. Build metadata is ignored, so `1.0.0+a` and `1.0.0+b` compare
 * equal; a pre-release sorts before its release (`1.0.0-rc.1 < 1.0.0`).
 *
 * @example
 *   ['1.0.0', '1.0.0-alpha', '1.1.0'].sort(compareSemver) // ['1.0.0-alpha', '1.0.0', '1.1.0']
 */
export function compareSemver(left: string | SemVer, right: string | SemVer): -1 | 0 | 1 {
  const a = typeof left === 'string' ? parseSemver(left) : left;
  const b = typeof right === 'string' ? parseSemver(right) : right;
  const core = sign(a.major, b.major) || sign(a.minor, b.minor) || sign(a.patch, b.patch);
  if (core !== 0) return core;
  // A release outranks any of its pre-releases.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  const n = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const c = compareIdentifier(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return c;
  }
  // All shared identifiers equal: the longer set has the higher precedence.
  return sign(BigInt(a.prerelease.length), BigInt(b.prerelease.length));
}
