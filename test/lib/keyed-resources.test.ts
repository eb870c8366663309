import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedResources } from '../../src/lib/keyed-resources.ts';

/** Resources whose opens the test completes by hand, with a log of what happened. */
function harness() {
  const log: string[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const r = new KeyedResources<number>(
    (key, value) =>
      new Promise((resolve, reject) => {
        log.push(`open ${key}=${value}`);
        pending.set(key, {
          resolve: () =>
            resolve(async () => {
              log.push(`close ${key}`);
            }),
          reject,
        });
      }),
    (key, err) => log.push(`failed ${key}: ${(err as Error).message}`),
  );
  const finish = async (key: string): Promise<void> => {
    pending.get(key)!.resolve();
    pending.delete(key);
    await new Promise((x) => setImmediate(x));
  };
  const fail = async (key: string): Promise<void> => {
    pending.get(key)!.reject(new Error('EADDRINUSE'));
    pending.delete(key);
    await new Promise((x) => setImmediate(x));
  };
  return { r, log, finish, fail };
}

describe('KeyedResources', () => {
  test('opens each wanted key once, even while its open is in progress', async () => {
    const { r, log, finish } = harness();
    r.sync({ a: 1 });
    r.sync({ a: 1 });
    await finish('a');
    r.sync({ a: 1 });
    assert.deepEqual(log, ['open a=1']);
    assert.ok(r.has('a'));
  });

  test('closes a key no longer wanted, and one that stopped being wanted while opening', async () => {
    const { r, log, finish } = harness();
    r.sync({ a: 1, b: 2 });
    await finish('a');
    r.sync({ b: 2 });
    await r.closed();
    assert.deepEqual(log, ['open a=1', 'open b=2', 'close a']);
    r.sync({});
    await finish('b');
    await r.closed();
    assert.deepEqual(log.slice(3), ['close b']);
    assert.ok(!r.has('b'));
  });

  test('a failed open is tried again at every sync, reported once until it opens', async () => {
    const { r, log, fail, finish } = harness();
    r.sync({ a: 1 });
    await fail('a');
    r.sync({ a: 1 });
    await fail('a');
    r.sync({ a: 1 });
    await finish('a');
    assert.deepEqual(log, ['open a=1', 'failed a: EADDRINUSE', 'open a=1', 'open a=1']);
    assert.ok(r.has('a'));
  });
});
