// A/B statistics checked against SciPy 1.17 (values computed with scipy.special / scipy.stats and
// pasted here): the special functions, Student's t p-values, Wilson intervals, the two-proportion
// z-test and Welch's t-test, plus the verdicts and the refusals of impossible input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareConversions, summarize, welchTTest, wilsonInterval } from '../src/core/ab-stats.js';
import {
  erfc,
  logGamma,
  regularizedBeta,
  studentTCdf,
  studentTTwoSidedP,
} from '../src/core/stats/special-functions.js';

/** |got − want| within `rel` of want (or of 1e-300 for want = 0). */
function close(got: number | undefined, want: number, rel = 1e-10, what = '') {
  assert.ok(
    got !== undefined && Math.abs(got - want) <= rel * Math.max(Math.abs(want), 1e-300),
    `${what} got ${got}, want ${want}`,
  );
}

describe('special functions against SciPy', () => {
  test('logGamma = scipy.special.gammaln', () => {
    for (const [x, want] of [
      [0.5, 0.5723649429247],
      [1, 0],
      [3.7, 1.428072326665388],
      [10, 12.801827480081469],
      [100.5, 361.43554046777757],
      [171.2, 707.60092684767],
    ] as const) {
      assert.ok(
        Math.abs(logGamma(x) - want) <= 1e-12 * Math.max(1, want),
        `gammaln(${x}) = ${logGamma(x)}, want ${want}`,
      );
    }
  });

  test('regularizedBeta = scipy.special.betainc, tails included', () => {
    const cases: [number, number, number, number][] = [
      [0.5, 0.5, 0.3, 0.36901011956554536],
      [2.5, 0.5, 0.9, 0.48958974456442755],
      [10, 0.5, 0.01, 1.770034965528571e-21],
      [1, 1, 0.42, 0.42],
      [50, 0.5, 0.999, 0.7523690199653766],
      [0.1, 10, 0.05, 0.9402167355790857],
      [200, 0.5, 0.5, 3.50010248932063e-62],
    ];
    for (const [a, b, x, want] of cases) close(regularizedBeta(x, a, b), want, 1e-9, `betainc(${a}, ${b}, ${x})`);
    assert.equal(regularizedBeta(0, 2, 3), 0);
    assert.equal(regularizedBeta(1, 2, 3), 1);
    assert.ok(Number.isNaN(regularizedBeta(0.5, 0, 1)));
  });

  test('erfc = scipy.special.erfc, far tails included', () => {
    const cases: [number, number][] = [
      [0, 1],
      [0.1, 0.8875370839817152],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028516],
      [1.3859292911256331, 0.04999579029644087],
      [3, 2.2090496998585445e-5],
      [5, 1.5374597944280347e-12],
      [10, 2.0884875837625446e-45],
    ];
    for (const [x, want] of cases) close(erfc(x), want, 1e-12, `erfc(${x})`);
    close(erfc(-1), 2 - 0.15729920705028516, 1e-14, 'erfc(-1)');
  });

  test("Student's t two-sided p and CDF = scipy.stats.t", () => {
    const cases: [number, number, number, number][] = [
      [2.0, 5, 0.10193947882985835, 0.9490302605850708],
      [0.5, 1, 0.7048327646991335, 0.6475836176504333],
      [10, 3.5, 0.0010714758956126634, 0.9994642620521936],
      [1.96, 1000, 0.050273184955748736, 0.9748634075221256],
      [40, 30, 1.3726045194406417e-27, 1],
      [0.001, 2, 0.9992928933955901, 0.500353553302205],
      [-2.5, 12.3, 0.027492775039948656, 0.013746387519974328],
      [3, 1e6, 0.0026998625414218, 0.9986500687292891],
    ];
    for (const [t, df, p, cdf] of cases) {
      close(studentTTwoSidedP(t, df), p, 1e-9, `p(t=${t}, df=${df})`);
      close(studentTCdf(t, df), cdf, 1e-12, `cdf(t=${t}, df=${df})`);
    }
    assert.equal(studentTTwoSidedP(Infinity, 3), 0);
    assert.equal(studentTTwoSidedP(0, 3), 1);
  });
});

describe('binary outcomes', () => {
  test('Wilson intervals (0 and n conversions stay within [0, 1])', () => {
    const cases: [number, number, number, number][] = [
      [200, 2000, 0.08760922541834984, 0.11392441240665252],
      [0, 50, 0, 0.07134759913335872],
      [50, 50, 0.9286524008666414, 1],
      [7, 20, 0.18119182410108206, 0.5671457233147638],
    ];
    for (const [x, n, low, high] of cases) {
      const i = wilsonInterval(x, n)!;
      assert.ok(Math.abs(i.low - low) < 1e-12 && Math.abs(i.high - high) < 1e-12, `${x}/${n}: ${JSON.stringify(i)}`);
    }
    assert.equal(wilsonInterval(0, 0), undefined);
  });

  test('a significant improvement: z, p (= chi-square without correction), lift and verdict', () => {
    const r = compareConversions({ n: 2000, conversions: 200 }, { n: 2000, conversions: 250 });
    close(r.z, 2.501955416802671, 1e-12, 'z');
    close(r.pValue, 0.012350947711191423, 1e-9, 'p');
    assert.equal(r.a.rate, 0.1);
    assert.equal(r.b.rate, 0.125);
    close(r.difference, 0.025, 1e-12, 'difference');
    close(r.lift, 0.25, 1e-12, 'lift');
    assert.equal(r.significant, true);
    assert.equal(
      r.verdict,
      'B converts better than A: 12.5% vs 10.0% (+25.0% lift); significant at alpha 0.05 (p = 0.012).',
    );
  });

  test('no significant difference, named variants', () => {
    const r = compareConversions(
      { n: 1000, conversions: 100 },
      { n: 1000, conversions: 104 },
      { names: ['stable', 'canary'] },
    );
    close(r.z, 0.29553351505005104, 1e-12, 'z');
    close(r.pValue, 0.767586353726008, 1e-9, 'p');
    assert.equal(r.significant, false);
    assert.equal(
      r.verdict,
      'No significant difference between canary and stable yet: 10.4% vs 10.0% (+4.0% lift), p = 0.77 >= alpha 0.05; keep collecting outcomes.',
    );
  });

  test('a significant drop, a tiny p-value and a stricter alpha', () => {
    const r = compareConversions({ n: 10000, conversions: 70 }, { n: 10000, conversions: 30 }, { alpha: 0.001 });
    close(r.z, -4.010037656936684, 1e-12, 'z');
    close(r.pValue, 6.0709065009781884e-5, 1e-9, 'p');
    assert.equal(r.significant, true);
    assert.equal(
      r.verdict,
      'B converts worse than A: 0.3% vs 0.7% (-57.1% lift); significant at alpha 0.001 (p < 0.0001).',
    );
  });

  test('edge cases: no outcomes, identical extremes, A at 0%', () => {
    assert.equal(
      compareConversions({ n: 0, conversions: 0 }, { n: 5, conversions: 1 }).verdict,
      'Not enough data: A has no outcomes yet.',
    );
    assert.equal(
      compareConversions({ n: 0, conversions: 0 }, { n: 0, conversions: 0 }).verdict,
      'Not enough data: A and B have no outcomes yet.',
    );
    const same = compareConversions({ n: 100, conversions: 0 }, { n: 80, conversions: 0 });
    assert.deepEqual([same.z, same.pValue, same.significant, same.lift], [0, 1, false, undefined]);
    assert.match(same.verdict, /\(A converts at 0%\), p = 1 >= alpha 0\.05/);
    const fromZero = compareConversions({ n: 500, conversions: 0 }, { n: 500, conversions: 20 });
    assert.equal(fromZero.lift, undefined);
    assert.equal(fromZero.significant, true);
  });

  test('impossible counts are refused with the field and the rule', () => {
    assert.throws(
      () => compareConversions({ n: 10, conversions: 11 }, { n: 1, conversions: 0 }),
      /^InvalidArgumentError: a\.conversions: must be an integer from 0 to n \(10\), got 11$/,
    );
    assert.throws(
      () => compareConversions({ n: 10, conversions: 1 }, { n: -1, conversions: 0 }),
      /^InvalidArgumentError: b\.n: must be a non-negative integer, got -1$/,
    );
    assert.throws(
      () => compareConversions({ n: 10, conversions: 1.5 }, { n: 1, conversions: 0 }),
      /a\.conversions: must be an integer/,
    );
    assert.throws(
      () => compareConversions({ n: 10, conversions: 1 }, { n: 1, conversions: 0 }, { alpha: 1 }),
      /^InvalidArgumentError: alpha: must be a number between 0 and 1, got 1$/,
    );
  });
});

describe('numeric outcomes', () => {
  const A = [12.1, 11.8, 13.4, 12.9, 12.5, 11.9, 13.1, 12.7];
  const B = [13.2, 14.1, 12.8, 13.9, 14.4, 13.5, 13.0, 14.8, 13.7, 14.2];

  test('summarize = numpy mean and var(ddof=1)', () => {
    const a = summarize(A);
    assert.equal(a.n, 8);
    close(a.mean, 12.55, 1e-14, 'mean');
    close(a.variance, 0.337142857142857, 1e-12, 'variance');
    close(summarize(B).variance, 0.4115555555555556, 1e-12, 'variance B');
    assert.deepEqual(summarize([5]), { n: 1, mean: 5, variance: 0 });
    // Welford keeps precision where the naive sum of squares would not.
    close(summarize([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]).variance, 30, 1e-12, 'offset variance');
  });

  test('Welch = scipy.stats.ttest_ind(B, A, equal_var=False)', () => {
    const r = welchTTest(summarize(A), summarize(B));
    close(r.t, 4.192441462666996, 1e-10, 't');
    close(r.df, 15.701269066321565, 1e-10, 'df');
    close(r.pValue, 0.0007157538429498557, 1e-8, 'p');
    close(r.difference, 1.21, 1e-12, 'difference');
    assert.equal(r.significant, true);
    assert.equal(
      r.verdict,
      'B differs from A: mean 13.76 vs 12.55 (+1.21); significant at alpha 0.05 (p = 0.00072, Welch t = 4.192, df = 15.7).',
    );
  });

  test('Welch from summary statistics = scipy.stats.ttest_ind_from_stats', () => {
    const r = welchTTest(
      { n: 50, mean: 10, variance: 4 },
      { n: 60, mean: 10.6, variance: 6.25 },
      { names: ['stable', 'canary'] },
    );
    close(r.t, 1.3981241472851105, 1e-10, 't');
    close(r.pValue, 0.16494479280451146, 1e-8, 'p');
    assert.equal(r.significant, false);
    assert.match(
      r.verdict,
      /^No significant difference between canary and stable yet: mean 10\.6 vs 10 \(\+0\.6\), p = 0\.16 >= alpha 0\.05/,
    );
  });

  test('edge cases: too few outcomes, no spread', () => {
    assert.equal(
      welchTTest(summarize([1]), summarize([1, 2])).verdict,
      'Not enough data: A needs at least 2 outcomes.',
    );
    const flat = welchTTest(summarize([3, 3, 3]), summarize([3, 3]));
    assert.deepEqual([flat.t, flat.pValue, flat.significant], [0, 1, false]);
    const apart = welchTTest(summarize([3, 3, 3]), summarize([4, 4]));
    assert.deepEqual([apart.t, apart.pValue, apart.significant], [Infinity, 0, true]);
    assert.throws(
      () => welchTTest({ n: 3, mean: NaN, variance: 1 }, summarize([1, 2])),
      /^InvalidArgumentError: a\.mean: must be a finite number/,
    );
    assert.throws(
      () => welchTTest(summarize([1, 2]), { n: 3, mean: 1, variance: -1 }),
      /^InvalidArgumentError: b\.variance: must be a non-negative number, got -1$/,
    );
  });
});
