import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN_VERTICAL_SAMPLES, recommendResources, type UsageSample } from '../src/core/autoscaling/vertical.js';

const MiB = 2 ** 20;
/** `n` samples whose CPU runs 0.01, 0.02 … cores and memory 100, 101 … MiB. */
const ramp = (n: number): UsageSample[] =>
  Array.from({ length: n }, (_, i) => ({ cpuCores: (i + 1) / 100, memoryBytes: (100 + i) * MiB }));

test('recommendResources: p90 CPU + 15%, peak memory + 20%, limit + 50%', () => {
  const r = recommendResources(ramp(100), { cpu: '500m', memory: '512Mi' })!;
  // p90 of 0.01..1.00 is 0.90 → 1.035 cores; peak memory 199 MiB → 238.8 and 298.5 MiB, rounded up.
  assert.deepEqual(
    { cpu: r.cpu, memory: r.memory, memoryLimit: r.memoryLimit, samples: r.samples },
    { cpu: '1035m', memory: '239Mi', memoryLimit: '299Mi', samples: 100 },
  );
  assert.deepEqual(r.change, { cpu: 'raise', memory: 'lower' });
  assert.equal(
    r.basis,
    'over 100 samples CPU p90 was 0.9 cores (peak 1 core) and memory peaked at 199Mi: ' +
      'CPU request 1035m (p90 + 15%, at least 10m), memory request 239Mi (peak + 20%, at least 32Mi), memory limit 299Mi (peak + 50%)',
  );
});

test('recommendResources: within ±10% of the current request is keep', () => {
  const steady = Array.from({ length: 40 }, () => ({ cpuCores: 0.4, memoryBytes: 400 * MiB }));
  // 0.4 × 1.15 = 460m vs 500m (−8%); 400 × 1.2 = 480Mi vs 512Mi (−6%).
  assert.deepEqual(recommendResources(steady, { cpu: '500m', memory: '512Mi' })?.change, {
    cpu: 'keep',
    memory: 'keep',
  });
  assert.deepEqual(recommendResources(steady, { cpu: '410m', memory: '430Mi' })?.change, {
    cpu: 'raise',
    memory: 'raise',
  });
  assert.deepEqual(recommendResources(steady, { cpu: '1', memory: '1Gi' })?.change, { cpu: 'lower', memory: 'lower' });
});

test('recommendResources: floors of 10m CPU and 32Mi memory', () => {
  const idle = Array.from({ length: 30 }, () => ({ cpuCores: 0.001, memoryBytes: 5 * MiB }));
  const r = recommendResources(idle, { cpu: '100m', memory: '64Mi' })!;
  assert.deepEqual([r.cpu, r.memory, r.memoryLimit], ['10m', '32Mi', '32Mi']);
  assert.deepEqual(r.change, { cpu: 'lower', memory: 'lower' });
});

test('recommendResources: needs 30 usable samples', () => {
  assert.equal(MIN_VERTICAL_SAMPLES, 30);
  assert.equal(recommendResources(ramp(29), { cpu: '500m', memory: '512Mi' }), undefined);
  assert.ok(recommendResources(ramp(30), { cpu: '500m', memory: '512Mi' }));
  const withJunk = [...ramp(29), { cpuCores: Number.NaN, memoryBytes: MiB }, { cpuCores: -1, memoryBytes: MiB }];
  assert.equal(recommendResources(withJunk, { cpu: '500m', memory: '512Mi' }), undefined, 'bad samples do not count');
});

test('recommendResources: refuses current requests it cannot read', () => {
  assert.throws(
    () => recommendResources(ramp(40), { cpu: 'lots', memory: '512Mi' }),
    /^InvalidArgumentError: requests\.cpu: /,
  );
  assert.throws(
    () => recommendResources(ramp(40), { cpu: '1', memory: '0' }),
    /^InvalidArgumentError: requests\.memory: /,
  );
});
