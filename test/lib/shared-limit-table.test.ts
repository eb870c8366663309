import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { LimitKey } from '../../src/lib/limit-key.ts';
import { REFUSED, SharedLimitTable, UNTRACKED } from '../../src/lib/shared-limit-table.ts';

const WORKER = new URL('./fixtures/limit-table-worker.ts', import.meta.url);
const HOUR = 3_600_000;

function table(slots: number, ledger = false): SharedLimitTable {
  return new SharedLimitTable(
    SharedLimitTable.allocate(slots),
    ledger ? SharedLimitTable.allocateLedger(slots) : undefined,
  );
}

/**
 * Runs `threads` real worker threads on one table, released together by one flag; returns how
 * many operations each admitted.
 */
async function hammer(
  buffer: SharedArrayBuffer,
  threads: number,
  job: { op: 'acquire' | 'acquire-release' | 'take'; n: number; amount: number },
): Promise<number[]> {
  const start = new SharedArrayBuffer(4);
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { workerData: { table: buffer, ledger: undefined, start, ...job } }),
  );
  const results = workers.map(
    (w) =>
      new Promise<number>((resolve, reject) => {
        w.on('message', (m: { type: string; admitted?: number }) => {
          if (m.type === 'done') resolve(m.admitted ?? -1);
        });
        w.once('error', reject);
      }),
  );
  await Promise.all(workers.map((w) => once(w, 'message')));
  const flag = new Int32Array(start);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  const admitted = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  return admitted;
}

const key = { h1: 0x12345678, h2: 0x0badf00d };

describe('SharedLimitTable across worker threads', () => {
  test('counters: every increment from 4 threads on one key is counted', async () => {
    const buffer = SharedLimitTable.allocate(1024);
    const admitted = await hammer(buffer, 4, { op: 'acquire', n: 20_000, amount: 2 ** 31 - 1 });
    assert.deepEqual(admitted, [20_000, 20_000, 20_000, 20_000]);
    assert.equal(new SharedLimitTable(buffer).count(key), 80_000);
  });

  test('counters: acquire and release from 4 threads end at exactly 0', async () => {
    const buffer = SharedLimitTable.allocate(1024);
    await hammer(buffer, 4, { op: 'acquire-release', n: 20_000, amount: 2 ** 31 - 1 });
    assert.equal(new SharedLimitTable(buffer).count(key), 0);
  });

  test('counters: 4 threads trying 5,000 times each admit exactly `amount` in total', async () => {
    const buffer = SharedLimitTable.allocate(1024);
    const admitted = await hammer(buffer, 4, { op: 'acquire', n: 5_000, amount: 37 });
    assert.equal(
      admitted.reduce((a, b) => a + b),
      37,
    );
    assert.equal(new SharedLimitTable(buffer).count(key), 37);
  });

  test('token bucket: 4 threads taking 5,000 times each get exactly `burst` tokens', async () => {
    const buffer = SharedLimitTable.allocate(1024);
    const admitted = await hammer(buffer, 4, { op: 'take', n: 5_000, amount: 25 });
    assert.equal(
      admitted.reduce((a, b) => a + b),
      25,
    );
  });
});

describe('SharedLimitTable', () => {
  test('keys sharing a home slot or the first hash keep their own counts', () => {
    const t = table(8);
    const keys = [
      { h1: 3, h2: 1 },
      { h1: 3, h2: 2 },
      { h1: 11, h2: 1 },
      { h1: 19, h2: 7 },
    ];
    keys.forEach((k, i) => {
      for (let n = 0; n <= i; n++) assert.ok(t.acquire(k, 100) >= 0);
    });
    for (const [i, k] of keys.entries()) assert.equal(t.count(k), i + 1, `key ${i}`);
    // A bucket with the same hashes as a counter is another entry.
    assert.equal(t.take(keys[0]!, 1, 1 / HOUR, 0), 0);
    assert.ok(t.take(keys[0]!, 1, 1 / HOUR, 0) < 0);
    assert.equal(t.count(keys[0]!), 1);
  });

  test('a released counter frees its slot for another key; a key probing past it still finds itself', () => {
    const t = table(2);
    const a = { h1: 0, h2: 1 };
    const b = { h1: 0, h2: 2 };
    const c = { h1: 0, h2: 3 };
    const sa = t.acquire(a, 1);
    const sb = t.acquire(b, 1);
    assert.ok(sa >= 0 && sb >= 0);
    assert.equal(t.acquire(c, 1), UNTRACKED, 'full: admitted uncounted');
    assert.equal(t.overflows, 1);
    t.release(sa);
    // b lives past the freed slot: it is still found, not given a second entry.
    assert.equal(t.acquire(b, 1), REFUSED);
    const sc = t.acquire(c, 1);
    assert.equal(sc, sa, 'c reuses the slot a left');
    assert.equal(t.count(a), 0);
    assert.equal(t.count(c), 1);
    t.release(UNTRACKED);
    t.release(sc);
    t.release(sb);
    assert.equal(t.count(b), 0);
  });

  test('a bucket refilled to burst is free again; a draining one is not', () => {
    const t = table(1);
    const draining = { h1: 0, h2: 1 };
    const other = { h1: 0, h2: 2 };
    assert.equal(t.take(draining, 1, 1 / HOUR, 0), 0);
    assert.equal(t.take(other, 1, 1 / HOUR, 0), 0, 'full table: admitted');
    assert.equal(t.overflows, 1);
    // A bucket that refills at once is idle as soon as it is used.
    const t2 = table(1);
    assert.equal(t2.take(draining, 1, Number.POSITIVE_INFINITY, 0), 0);
    assert.equal(t2.take(other, 1, 1 / HOUR, 0), 0);
    assert.ok(t2.take(other, 1, 1 / HOUR, 0) < 0, 'other took the slot and is limited');
    assert.equal(t2.overflows, 0);
  });

  test('token bucket: go, delay within maxDelay, refuse beyond it with the wait', () => {
    const t = table(16);
    const perSecond = 1 / 1000;
    assert.equal(t.take(key, 2, perSecond, 1500), 0);
    assert.equal(t.take(key, 2, perSecond, 1500), 0);
    const delay = t.take(key, 2, perSecond, 1500);
    assert.ok(delay > 990 && delay <= 1000, `delayed about 1s, got ${delay}`);
    const refused = t.take(key, 2, perSecond, 1500);
    assert.ok(refused < -1990 && refused >= -2000, `refused, a token in about 2s, got ${refused}`);
    // A refusal takes nothing: the next one is refused the same way.
    assert.ok(t.take(key, 2, perSecond, 1500) < -1990);
  });

  test('releaseHeld gives back what a thread that ended still held', () => {
    const buffer = SharedLimitTable.allocate(16);
    const ledger = SharedLimitTable.allocateLedger(16);
    const ended = new SharedLimitTable(buffer, ledger);
    const other = new SharedLimitTable(buffer);
    assert.ok(ended.acquire(key, 10) >= 0);
    assert.ok(ended.release(ended.acquire(key, 10)) === undefined);
    assert.ok(ended.acquire(key, 10) >= 0);
    assert.ok(other.acquire(key, 10) >= 0);
    assert.equal(other.count(key), 3);
    new SharedLimitTable(buffer, ledger).releaseHeld();
    assert.equal(other.count(key), 1, "only the ended thread's two counts go");
    ended.releaseHeld();
    assert.equal(other.count(key), 1, 'the ledger was emptied');
  });

  test('a lock left held by a thread that died is taken over instead of blocking forever', () => {
    const buffer = SharedLimitTable.allocate(16);
    Atomics.store(new Int32Array(buffer), 0, 1);
    const t = new SharedLimitTable(buffer);
    assert.ok(t.acquire(key, 1) >= 0);
    assert.equal(t.count(key), 1);
  });

  const invalid = [
    { desc: 'slots not a power of two', run: () => SharedLimitTable.allocate(12), error: /power of two/ },
    {
      desc: 'buffer of another size',
      run: () => new SharedLimitTable(new SharedArrayBuffer(100)),
      error: /not a table/,
    },
    {
      desc: 'ledger of another table size',
      run: () => new SharedLimitTable(SharedLimitTable.allocate(8), SharedLimitTable.allocateLedger(16)),
      error: /ledger size/,
    },
  ];
  for (const c of invalid) test(`invalid: ${c.desc}`, () => assert.throws(c.run, c.error));
});

describe('LimitKey', () => {
  test('scope and source are kept apart and every part counts', () => {
    const hash = (scope: string, source: string): string => {
      const k = new LimitKey(scope).of(source);
      return `${k.h1}:${k.h2}`;
    };
    const seen = new Set([
      hash('a', 'bc'),
      hash('ab', 'c'),
      hash('rateLimit\0x@file', '10.0.0.1'),
      hash('rateLimit\0x@file', '10.0.0.2'),
      hash('rateLimit\0y@file', '10.0.0.1'),
      hash('inFlightReq\0x@file', '10.0.0.1'),
      hash('a', ''),
      hash('', 'a'),
    ]);
    assert.equal(seen.size, 8);
    assert.equal(hash('s', '10.0.0.1'), hash('s', '10.0.0.1'));
  });

  test('100,000 sources: no two share both hashes, home slots spread evenly', () => {
    const k = new LimitKey('inFlightConn\0db@docker');
    const both = new Set<string>();
    const homes = new Uint32Array(1024);
    for (let i = 0; i < 100_000; i++) {
      k.of(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      both.add(`${k.h1}:${k.h2}`);
      homes[k.h1 & 1023]!++;
    }
    assert.equal(both.size, 100_000);
    // ~98 per slot on average; a weak hash of dotted addresses piles them into a few.
    assert.ok(Math.max(...homes) < 200, `busiest home slot holds ${Math.max(...homes)}`);
  });
});
