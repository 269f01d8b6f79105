// Strict SemVer 2.0.0 parsing and precedence (src/core/semver.ts), including the spec's own
// precedence example.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../src/core/errors.js';
import { compareSemver, formatSemver, isSemver, parseSemver } from '../src/core/semver.js';

void test('parses every part of a version', () => {
  const v = parseSemver('1.4.0-rc.1+git.abc123');
  assert.equal(v.major, 1n);
  assert.equal(v.minor, 4n);
  assert.equal(v.patch, 0n);
  assert.deepEqual(v.prerelease, ['rc', '1']);
  assert.deepEqual(v.build, ['git', 'abc123']);
  assert.equal(formatSemver(v), '1.4.0-rc.1+git.abc123');
});

void test('accepts the forms the spec allows', () => {
  for (const text of [
    '0.0.0',
    '1.0.0',
    '10.20.30',
    '1.0.0-alpha',
    '1.0.0-0.3.7',
    '1.0.0-x.7.z.92',
    '1.0.0-x-y-z.--',
    '1.0.0+20130313144700',
    '1.0.0-beta+exp.sha.5114f85',
    '1.0.0+21AF26D3----117B344092BD',
    '1.0.0-0a',
    '99999999999999999999.0.0',
  ]) {
    assert.ok(isSemver(text), text);
    assert.equal(formatSemver(parseSemver(text)), text);
  }
});

void test('rejects loose forms, naming the field and the rule', () => {
  for (const text of [
    '1.0',
    '1',
    'v1.0.0',
    '=1.0.0',
    '01.0.0',
    '1.01.0',
    '1.0.01',
    '1.0.0-01',
    '1.0.0-',
    '1.0.0+',
    '1.0.0-a..b',
    '1.0.0+a..b',
    ' 1.0.0',
    '1.0.0 ',
    '1.2.3.4',
    '-1.0.0',
    '1.0.0-alpha_beta',
    '1.0.0-ß',
    '',
    'latest',
    '1.0.0\n',
  ]) {
    assert.equal(isSemver(text), false, JSON.stringify(text));
    assert.throws(
      () => parseSemver(text),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError);
        assert.equal(err.code, 'INVALID_ARGUMENT');
        assert.match(err.message, /^version: must be a semantic version MAJOR\.MINOR\.PATCH/);
        return true;
      },
    );
  }
  assert.throws(() => parseSemver('1.0', 'spec.model.version'), /^InvalidArgumentError: spec\.model\.version: /);
  assert.throws(() => parseSemver(`1.0.0-${'a'.repeat(300)}`), /at most 256 characters/);
});

void test("orders by the spec's precedence, pre-releases before their release", () => {
  // The example from semver.org §11, in order.
  const ordered = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.1',
    '1.1.0',
    '2.0.0-0',
    '2.0.0',
    '2.1.1',
    '10.0.0',
    '99999999999999999998.0.0',
    '99999999999999999999.0.0',
  ];
  const shuffled = [...ordered].reverse();
  [shuffled[0], shuffled[5]] = [shuffled[5]!, shuffled[0]!];
  assert.deepEqual(shuffled.sort(compareSemver), ordered);
  for (let i = 1; i < ordered.length; i++) {
    assert.equal(compareSemver(ordered[i - 1]!, ordered[i]!), -1, `${ordered[i - 1]} < ${ordered[i]}`);
    assert.equal(compareSemver(ordered[i]!, ordered[i - 1]!), 1);
  }
});

void test('numeric identifiers compare as numbers and rank below alphanumeric ones', () => {
  assert.equal(compareSemver('1.0.0-2', '1.0.0-10'), -1);
  assert.equal(compareSemver('1.0.0-10', '1.0.0-a'), -1);
  assert.equal(compareSemver('1.0.0-Z', '1.0.0-a'), -1, 'ASCII order: uppercase first');
  assert.equal(compareSemver('1.0.0-1a', '1.0.0-2'), 1, '1a is alphanumeric');
  assert.equal(compareSemver('1.0.0-alpha', '1.0.0-alpha.0'), -1, 'fewer identifiers rank lower');
});

void test('build metadata does not affect precedence', () => {
  assert.equal(compareSemver('1.0.0+a', '1.0.0+b'), 0);
  assert.equal(compareSemver('1.0.0', '1.0.0+b'), 0);
  assert.equal(compareSemver('1.0.0-rc.1+x', '1.0.0-rc.1'), 0);
  assert.equal(compareSemver(parseSemver('2.0.0'), '1.9.9+zzz'), 1);
});
