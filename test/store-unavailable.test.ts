/**
 * Which errors mean "the store cannot be reached right now" (503 with Retry-After at the API) and
 * which do not (they stay what they are: a 4xx, or a 500 whose details go to the log).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toApiError } from '../src/api/errors.js';
import { InvalidArgumentError } from '../src/core/errors.js';
import { isStoreUnavailable } from '../src/store/errors.js';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('connection failures of PostgreSQL and SQLite count as the store being unavailable', () => {
  const unavailable = [
    coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
    new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], ''), // localhost on IPv4 and IPv6
    coded('57P01', 'terminating connection due to administrator command'),
    coded('57P03', 'the database system is starting up'),
    coded('08006', 'connection failure'),
    coded('53300', 'sorry, too many clients already'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    coded('SQLITE_BUSY', 'database is locked'),
    coded('SQLITE_BUSY_SNAPSHOT'),
    new Error('query failed', { cause: coded('ECONNRESET') }),
  ];
  for (const e of unavailable) assert.equal(isStoreUnavailable(e), true, String(e));
  const other = [
    coded('23505', 'duplicate key'),
    coded('22P05', 'unsupported Unicode escape sequence'),
    new Error('boom'),
    new InvalidArgumentError('x: bad'),
    undefined,
    'ECONNREFUSED',
  ];
  for (const e of other) assert.equal(isStoreUnavailable(e), false, String(e));
});

test('the API answers an unavailable store with 503, Retry-After and no internals', () => {
  const logged: unknown[] = [];
  const { status, body, headers } = toApiError(coded('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:5432'), (e) =>
    logged.push(e),
  );
  assert.equal(status, 503);
  assert.equal(body.error.code, 'UNAVAILABLE');
  assert.equal(headers?.['retry-after'], '5');
  assert.doesNotMatch(body.error.message, /10\.0\.0\.7/);
  assert.deepEqual(logged, ['store unavailable: connect ECONNREFUSED 10.0.0.7:5432']);
  assert.equal(toApiError(new Error('boom')).status, 500);
});
