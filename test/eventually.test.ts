// The test helpers that wait: eventually() returns the probe's first passing value and, on
// timeout, throws the probe's own last error; consistently() fails at the first failing try.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { consistently, eventually, GiveUp } from './support/eventually.js';

describe('eventually', () => {
  test('retries through throws and falsy results, then returns the passing value', async () => {
    let tries = 0;
    const value = await eventually(
      () => {
        tries++;
        if (tries === 1) throw new Error('not yet');
        if (tries === 2) return undefined;
        if (tries === 3) return false;
        return { tries };
      },
      { timeoutMs: 5_000, intervalMs: 1 },
    );
    assert.deepEqual(value, { tries: 4 });
  });

  test("on timeout it throws the probe's last error, named by the message", async () => {
    const started = Date.now();
    let n = 0;
    await assert.rejects(
      eventually(() => assert.equal(++n, -1, 'the counter is negative'), {
        timeoutMs: 50,
        message: 'a negative counter',
      }),
      (err: unknown) => {
        assert.ok(err instanceof assert.AssertionError, String(err));
        assert.match(err.message, /^a negative counter: timed out after 50 ms: the counter is negative/);
        assert.equal(err.expected, -1);
        return true;
      },
    );
    assert.ok(Date.now() - started >= 50, 'it kept trying until the timeout');
    assert.ok(n > 1, `tried more than once (${n})`);
  });

  test('a probe that only ever returns a falsy value fails saying what it returned', async () => {
    await assert.rejects(
      eventually(() => 0, { timeoutMs: 20, message: () => 'a count' }),
      {
        message: /^a count: timed out after 20 ms: the probe returned 0$/,
      },
    );
  });
});

describe('consistently', () => {
  test('passes when every try passes for the whole time', async () => {
    let tries = 0;
    const started = Date.now();
    await consistently(60, () => ++tries > 0, { intervalMs: 5 });
    assert.ok(Date.now() - started >= 60, 'it ran for the whole time');
    assert.ok(tries >= 2, `tried at the start and again at the end at least (${tries})`);
  });

  test('fails at the first try that throws or returns a falsy value', async () => {
    let tries = 0;
    const started = Date.now();
    await assert.rejects(
      consistently(10_000, () => ++tries < 3, { intervalMs: 5, message: 'fewer than three tries' }),
      { message: /^fewer than three tries: after \d+ ms of 10000: the probe returned false$/ },
    );
    assert.equal(tries, 3);
    assert.ok(Date.now() - started < 5_000, 'it did not wait out the time');
    await assert.rejects(
      consistently(10_000, () => assert.fail('broken')),
      { message: /^after \d+ ms of 10000: broken$/ },
    );
  });
});

test('a probe that throws GiveUp ends eventually at once, with that error, however long the timeout', async () => {
  let tries = 0;
  await assert.rejects(
    eventually(
      () => {
        tries++;
        if (tries === 2) throw new GiveUp('the process exited');
        return undefined;
      },
      { timeoutMs: 600_000, intervalMs: 1 },
    ),
    (err: unknown) => err instanceof GiveUp && err.message === 'the process exited',
  );
  assert.equal(tries, 2, 'no try after the GiveUp');
});
