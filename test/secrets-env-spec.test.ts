/**
 * `configuration.env` rules (core/env-spec.ts) and its split into the runtime's plain `env` and
 * `secretEnv`; the messages name the field and never repeat a value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainEnv, secretEnvRefs, validateEnv } from '../src/core/env-spec.js';
import { diffSpecs, renderDiff } from '../src/core/revision-diff.js';
import type { DeploymentSpec } from '../src/core/resources.js';

test('valid lists pass and split into plain values and secret refs', () => {
  const env = [
    { name: 'PLAIN', value: 'x' },
    { name: 'DB', secretRef: { name: 'db', key: 'PASSWORD', version: 3 } },
    { name: 'TOKEN', secretRef: { name: 'api', key: 'KEY' } },
  ];
  validateEnv(env);
  assert.deepEqual(plainEnv(env), { PLAIN: 'x' });
  assert.deepEqual(secretEnvRefs(env), {
    DB: { secret: 'db', key: 'PASSWORD', version: 3 },
    TOKEN: { secret: 'api', key: 'KEY' },
  });
});

test('each broken rule names its field; no message repeats a value', () => {
  const cases: [unknown, RegExp][] = [
    ['nope', /^configuration\.env: must be a list/],
    [[{ name: 'A' }], /configuration\.env\[0\]: needs exactly one of value and secretRef/],
    [[{ name: 'A', value: 'topsecret', secretRef: { name: 'db', key: 'K' } }], /env\[0\]: needs exactly one/],
    [[{ name: '1A', value: 'topsecret' }], /env\[0\]\.name: must match/],
    [[{ name: 'PORT', value: 'topsecret' }], /env\[0\]\.name: PORT and WHARF_\* are set by Wharf/],
    [[{ name: 'WHARF_X', value: 'topsecret' }], /env\[0\]\.name: PORT and WHARF_\*/],
    [
      [
        { name: 'A', value: 'topsecret' },
        { name: 'A', value: 'topsecret' },
      ],
      /env\[1\]\.name: is given twice/,
    ],
    [[{ name: 'A', value: 7 }], /env\[0\]\.value: must be a string/],
    [[{ name: 'A', value: 'topsecret'.repeat(4000) }], /env\[0\]\.value: must be at most 32768 bytes/],
    [[{ name: 'A', secretRef: { name: 'Bad_Name', key: 'K' } }], /env\[0\]\.secretRef\.name: must be 1-63/],
    [[{ name: 'A', secretRef: { name: 'db', key: 'bad-key' } }], /env\[0\]\.secretRef\.key: must match/],
    [
      [{ name: 'A', secretRef: { name: 'db', key: 'K', version: 0 } }],
      /env\[0\]\.secretRef\.version: must be a positive integer/,
    ],
    [
      [{ name: 'A', secretRef: { name: 'db', key: 'K', value: 'topsecret' } }],
      /env\[0\]\.secretRef\.value: unknown field/,
    ],
    [Array.from({ length: 101 }, (_, i) => ({ name: `V${i}`, value: 'x' })), /at most 100 variables/],
  ];
  for (const [env, rule] of cases)
    assert.throws(
      () => validateEnv(env),
      (e: Error) => rule.test(e.message) && !e.message.includes('topsecret'),
      `${JSON.stringify(env).slice(0, 80)} → ${rule}`,
    );
});

test('revision diffs compare env per variable and show a secret ref by name, key and version', () => {
  const spec = (env: unknown): DeploymentSpec => ({ configuration: { env } }) as unknown as DeploymentSpec;
  const v1 = spec([
    { name: 'DB', secretRef: { name: 'db', key: 'PASSWORD', version: 1 } },
    { name: 'P', value: 'x' },
  ]);
  const v2 = spec([
    { name: 'DB', secretRef: { name: 'db', key: 'PASSWORD', version: 2 } },
    { name: 'P', value: 'x' },
  ]);
  assert.equal(
    renderDiff(diffSpecs(v1, v2)),
    'configuration.env.DB: "secret db key PASSWORD version 1" → "secret db key PASSWORD version 2"',
  );
  assert.deepEqual(diffSpecs(v1, v1), []);
  assert.equal(
    renderDiff(diffSpecs(spec(undefined), spec([{ name: 'P', value: 'x' }]))),
    'configuration.env.P: (unset) → "x"',
  );
});
