// Analysis templates: every rule as a row (the message names the field and the rule), and the
// resolution of arguments and placeholders for one revision.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnalysisTemplate,
  BUILTIN_ANALYSIS_TEMPLATES,
  findAnalysisTemplate,
  resolveAnalysis,
  validateAnalysisTemplate,
} from '../src/core/analysis/index.js';

const TARGET = { environment: 'production', deployment: 'risk', revision: 4 };

function base(): AnalysisTemplate {
  return {
    name: 'checks',
    description: 'what it checks',
    args: [{ name: 'min', value: 0.99 }, { name: 'budget' }, { name: 'job', value: 'gateway' }],
    metrics: [
      {
        name: 'success',
        provider: { builtin: { metric: 'success-rate', windowSeconds: 10 } },
        successCondition: { min: '{{args.min}}' },
        minSamples: 20,
      },
      {
        name: 'errors',
        provider: {
          prometheus: {
            query:
              'sum(rate(x_total{job="{{args.job}}",revision="{{ revision }}",deployment="{{deployment}}",environment="{{environment}}"}[30s]))',
          },
        },
        successCondition: { max: '{{args.budget}}' },
        intervalSeconds: 5,
        count: 4,
        failureLimit: 1,
        inconclusiveLimit: 0,
        onInconclusive: 'fail',
      },
    ],
  };
}

/** `base()` changed by `edit`; each row reaches into the document freely, breaking its type on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;
function changed(edit: (t: Doc) => void): unknown {
  const t = structuredClone(base()) as Doc;
  edit(t);
  return t;
}

describe('validateAnalysisTemplate', () => {
  test('a template using every field is valid, and the built-in ones are', () => {
    assert.doesNotThrow(() => validateAnalysisTemplate(base()));
    for (const t of Object.values(BUILTIN_ANALYSIS_TEMPLATES))
      assert.doesNotThrow(() => validateAnalysisTemplate(t), t.name);
  });

  const cases: [string, unknown, string][] = [
    ['not an object', 'x', 'body: must be an object, got "x"'],
    [
      'unknown top-level field',
      changed((t) => (t.metric = [])),
      'metric: unknown field (allowed: name, description, args, metrics)',
    ],
    ['name not a DNS label', changed((t) => (t.name = 'Checks!')), 'name: must be a DNS label'],
    [
      'empty description',
      changed((t) => (t.description = '')),
      'description: must be a non-empty string of at most 1000 characters, got ""',
    ],
    ['args not a list', changed((t) => (t.args = { min: 1 })), 'args: must be a list of 0 to 50 items'],
    [
      'arg with a bad name',
      changed((t) => (t.args[0].name = '1min')),
      "args[0].name: must be a name of letters, digits, '_' or '-', starting with a letter or '_', got \"1min\"",
    ],
    ['duplicate arg', changed((t) => (t.args[1].name = 'min')), 'args[1].name: must be unique, got "min"'],
    [
      'arg value not a string or number',
      changed((t) => (t.args[0].value = true)),
      'args[0].value: must be a string or a finite number, got true',
    ],
    [
      'arg with an unknown field',
      changed((t) => (t.args[0].default = 1)),
      'args[0].default: unknown field (allowed: name, value)',
    ],
    ['no metrics', changed((t) => (t.metrics = [])), 'metrics: must be a list of 1 to 20 items, got []'],
    [
      'duplicate metric name',
      changed((t) => (t.metrics[1].name = 'success')),
      'metrics[1].name: must be unique within the template, got "success"',
    ],
    [
      'metric unknown field',
      changed((t) => (t.metrics[0].threshold = 1)),
      'metrics[0].threshold: unknown field (allowed: name, provider, successCondition, intervalSeconds, count, failureLimit, inconclusiveLimit, minSamples, onInconclusive)',
    ],
    [
      'provider names none',
      changed((t) => (t.metrics[0].provider = {})),
      'metrics[0].provider: must name exactly one of builtin, prometheus, got nothing',
    ],
    [
      'provider names both',
      changed((t) => (t.metrics[0].provider.prometheus = { query: 'up' })),
      'metrics[0].provider: must name exactly one of builtin, prometheus, got ["builtin","prometheus"]',
    ],
    [
      'unknown provider',
      changed((t) => (t.metrics[0].provider = { datadog: {} })),
      'metrics[0].provider.datadog: unknown field (allowed: builtin, prometheus)',
    ],
    [
      'unknown builtin metric',
      changed((t) => (t.metrics[0].provider.builtin.metric = 'p99')),
      'metrics[0].provider.builtin.metric: must be one of success-rate, error-rate, latency-p50, latency-p95, latency-p99, request-count, request-rate, got "p99"',
    ],
    [
      'window too long',
      changed((t) => (t.metrics[0].provider.builtin.windowSeconds = 3600)),
      'metrics[0].provider.builtin.windowSeconds: must be a number from 1 to 900, got 3600',
    ],
    [
      'builtin unknown field',
      changed((t) => (t.metrics[0].provider.builtin.window = 5)),
      'metrics[0].provider.builtin.window: unknown field (allowed: metric, windowSeconds)',
    ],
    [
      'empty query',
      changed((t) => (t.metrics[1].provider.prometheus.query = '')),
      'metrics[1].provider.prometheus.query: must be a non-empty string of at most 10000 characters, got ""',
    ],
    [
      'unknown placeholder',
      changed((t) => (t.metrics[1].provider.prometheus.query = 'up{pod="{{pod}}"}')),
      'metrics[1].provider.prometheus.query: unknown placeholder {{pod}} (placeholders are {{args.NAME}}, {{revision}}, {{deployment}} and {{environment}})',
    ],
    [
      'undeclared arg in a query',
      changed((t) => (t.metrics[1].provider.prometheus.query = 'up > {{args.nope}}')),
      'metrics[1].provider.prometheus.query: refers to args.nope, which the template does not declare',
    ],
    [
      'no condition',
      changed((t) => (t.metrics[0].successCondition = {})),
      'metrics[0].successCondition: needs min, max or both',
    ],
    [
      'condition unknown field',
      changed((t) => (t.metrics[0].successCondition.equals = 1)),
      'metrics[0].successCondition.equals: unknown field (allowed: min, max)',
    ],
    [
      'threshold text that is not a placeholder',
      changed((t) => (t.metrics[0].successCondition.min = '0.99')),
      'metrics[0].successCondition.min: must be a number or \'{{args.NAME}}\', got "0.99"',
    ],
    [
      'threshold NaN',
      changed((t) => (t.metrics[0].successCondition.min = NaN)),
      "metrics[0].successCondition.min: must be a number or '{{args.NAME}}'",
    ],
    [
      'threshold with an undeclared arg',
      changed((t) => (t.metrics[0].successCondition.min = '{{args.floor}}')),
      'metrics[0].successCondition.min: refers to args.floor, which the template does not declare, got "{{args.floor}}"',
    ],
    [
      'min above max',
      changed((t) => (t.metrics[0].successCondition = { min: 2, max: 1 })),
      'metrics[0].successCondition.max: must be at least min (2), got 1',
    ],
    [
      'interval too short',
      changed((t) => (t.metrics[0].intervalSeconds = 0.1)),
      'metrics[0].intervalSeconds: must be a number from 0.25 to 3600, got 0.1',
    ],
    [
      'count zero',
      changed((t) => (t.metrics[0].count = 0)),
      'metrics[0].count: must be an integer from 1 to 1000, got 0',
    ],
    [
      'count fractional',
      changed((t) => (t.metrics[0].count = 2.5)),
      'metrics[0].count: must be an integer from 1 to 1000, got 2.5',
    ],
    [
      'failureLimit negative',
      changed((t) => (t.metrics[0].failureLimit = -1)),
      'metrics[0].failureLimit: must be an integer from 0 to 1000, got -1',
    ],
    [
      'failureLimit that can never be exceeded',
      changed((t) => (t.metrics[1].failureLimit = 4)),
      'metrics[1].failureLimit: must be less than count (4), or the metric could never fail, got 4',
    ],
    [
      'failureLimit against the default count',
      changed((t) => (t.metrics[0].failureLimit = 10)),
      'metrics[0].failureLimit: must be less than count (10), or the metric could never fail, got 10',
    ],
    [
      'inconclusiveLimit not an integer',
      changed((t) => (t.metrics[0].inconclusiveLimit = '3')),
      'metrics[0].inconclusiveLimit: must be an integer from 0 to 1000, got "3"',
    ],
    [
      'minSamples on a PromQL metric',
      changed((t) => (t.metrics[1].minSamples = 5)),
      'metrics[1].minSamples: applies only to the builtin provider (a PromQL query states its own sample rules)',
    ],
    [
      'minSamples negative',
      changed((t) => (t.metrics[0].minSamples = -5)),
      'metrics[0].minSamples: must be an integer from 0 to 1000000, got -5',
    ],
    [
      'unknown onInconclusive',
      changed((t) => (t.metrics[0].onInconclusive = 'retry')),
      "metrics[0].onInconclusive: must be 'pause', 'fail' or 'pass', got \"retry\"",
    ],
  ];
  for (const [name, input, message] of cases) {
    test(`refuses: ${name}`, () => {
      assert.throws(
        () => validateAnalysisTemplate(input),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'INVALID_ARGUMENT');
          assert.ok(e.message.startsWith(message), `message: ${e.message}\nwanted: ${message}`);
          return true;
        },
      );
    });
  }

  test('a field prefix is put in front of every path', () => {
    assert.throws(
      () =>
        validateAnalysisTemplate(
          changed((t) => (t.metrics[0].count = 0)),
          'strategy.analysis.templates[2]',
        ),
      /^InvalidArgumentError: strategy\.analysis\.templates\[2\]\.metrics\[0\]\.count: must be an integer/,
    );
  });
});

describe('resolveAnalysis', () => {
  test('fills defaults, substitutes placeholders and parses thresholds', () => {
    const r = resolveAnalysis(
      base(),
      [
        { name: 'budget', value: '0.5' },
        { name: 'min', value: 0.995 },
      ],
      TARGET,
    );
    assert.equal(r.template, 'checks');
    assert.deepEqual(r.target, TARGET);
    assert.deepEqual(r.metrics[0], {
      name: 'success',
      provider: { kind: 'builtin', metric: 'success-rate', windowSeconds: 10 },
      min: 0.995,
      intervalSeconds: 1,
      count: 10,
      failureLimit: 0,
      inconclusiveLimit: 3,
      minSamples: 20,
      onInconclusive: 'pause',
    });
    assert.deepEqual(r.metrics[1], {
      name: 'errors',
      provider: {
        kind: 'prometheus',
        query: 'sum(rate(x_total{job="gateway",revision="4",deployment="risk",environment="production"}[30s]))',
      },
      max: 0.5,
      intervalSeconds: 5,
      count: 4,
      failureLimit: 1,
      inconclusiveLimit: 0,
      minSamples: 0,
      onInconclusive: 'fail',
    });
  });

  test('built-in templates resolve with their defaults (window 5 s, interval 1 s)', () => {
    const r = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES.default, undefined, TARGET);
    assert.deepEqual(
      r.metrics.map((m) => [
        m.name,
        m.min,
        m.max,
        m.intervalSeconds,
        m.provider.kind === 'builtin' && m.provider.windowSeconds,
      ]),
      [
        ['success-rate', 0.99, undefined, 1, 5],
        ['latency-p99', undefined, 0.5, 1, 5],
      ],
    );
    assert.equal(
      resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES['latency-p99'], [{ name: 'max', value: 0.25 }], TARGET).metrics[0]!
        .max,
      0.25,
    );
  });

  test('request-count and request-rate ignore minSamples: their condition is about the count itself', () => {
    const t: AnalysisTemplate = {
      name: 't',
      metrics: [{ name: 'traffic', provider: { builtin: { metric: 'request-count' } }, successCondition: { min: 50 } }],
    };
    assert.equal(resolveAnalysis(t, [], TARGET).metrics[0]!.minSamples, 0);
  });

  const refusals: [string, AnalysisTemplate, unknown, string][] = [
    ['a required argument is missing', base(), [], "args.budget: is required by template 'checks' (it has no default)"],
    [
      'an argument the template does not declare',
      base(),
      [
        { name: 'budget', value: 1 },
        { name: 'max', value: 2 },
      ],
      "args[1].name: template 'checks' has no argument 'max' (its arguments: min, budget, job)",
    ],
    [
      'an argument without a value',
      base(),
      [{ name: 'budget' }],
      'args[0].value: is required when an argument is given',
    ],
    [
      'a threshold argument that is not a number',
      base(),
      [{ name: 'budget', value: 'lots' }],
      'args.budget: must be a number (it is the threshold metrics[1].successCondition.max), got "lots"',
    ],
    ['an empty threshold argument', base(), [{ name: 'budget', value: ' ' }], 'args.budget: must be a number'],
    ['arguments that are not a list', base(), { budget: 1 }, 'args: must be a list of 0 to 50 items'],
    [
      'arguments crossing min over max',
      {
        name: 't',
        args: [{ name: 'lo' }, { name: 'hi' }],
        metrics: [
          {
            name: 'm',
            provider: { builtin: { metric: 'latency-p50' } },
            successCondition: { min: '{{args.lo}}', max: '{{args.hi}}' },
          },
        ],
      },
      [
        { name: 'lo', value: 3 },
        { name: 'hi', value: 1 },
      ],
      'args: must not make metrics[0].successCondition.min (3) greater than its max (1)',
    ],
    [
      'an invalid template',
      { name: 'Bad', metrics: [] } as unknown as AnalysisTemplate,
      [],
      'template.name: must be a DNS label',
    ],
  ];
  for (const [name, template, args, message] of refusals) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => resolveAnalysis(template, args as never, TARGET),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'INVALID_ARGUMENT');
          assert.ok(e.message.startsWith(message), `message: ${e.message}\nwanted: ${message}`);
          return true;
        },
      );
    });
  }

  test('the step arguments path is configurable', () => {
    assert.throws(
      () => resolveAnalysis(base(), [{ name: 'x', value: 1 }], TARGET, 'strategy.canary.steps[2].analysis.args'),
      /strategy\.canary\.steps\[2\]\.analysis\.args\[0\]\.name: template 'checks' has no argument 'x'/,
    );
  });
});

describe('findAnalysisTemplate', () => {
  test('user templates first, then built-in ones; unknown names list what exists', () => {
    const mine: AnalysisTemplate = { ...BUILTIN_ANALYSIS_TEMPLATES['success-rate'], name: 'default' };
    assert.equal(findAnalysisTemplate('default', { default: mine }), mine);
    assert.equal(findAnalysisTemplate('latency-p99').name, 'latency-p99');
    assert.throws(
      () => findAnalysisTemplate('fast', { mine }),
      /^InvalidArgumentError: template: unknown analysis template \(known: mine, success-rate, latency-p99, default\), got "fast"$/,
    );
    assert.throws(() => findAnalysisTemplate('toString'), /unknown analysis template/);
  });

  test('the built-in templates cannot be changed by accident', () => {
    assert.throws(() => {
      (BUILTIN_ANALYSIS_TEMPLATES.default.metrics[0]!.successCondition as { min: unknown }).min = 0;
    }, TypeError);
  });
});
