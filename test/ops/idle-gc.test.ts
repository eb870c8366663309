import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idleGcDecider, startIdleGc } from '../../src/lib/idle-gc.ts';

test('idle GC: one collection after a busy period, once the loop stayed quiet for the given checks', () => {
  const cases = [
    { desc: 'never busy: never', elus: [0, 0, 0, 0], want: [false, false, false, false] },
    {
      desc: 'busy then two quiet checks',
      elus: [0.5, 0.01, 0.01, 0.01, 0.01],
      want: [false, false, true, false, false],
    },
    {
      desc: 'busy again in between restarts the count',
      elus: [0.5, 0.01, 0.6, 0.01, 0.01],
      want: [false, false, false, false, true],
    },
    {
      desc: 'a second burst gets its own collection',
      elus: [0.9, 0, 0, 0.9, 0, 0],
      want: [false, false, true, false, false, true],
    },
  ];
  for (const c of cases) {
    const decide = idleGcDecider(0.05, 2);
    assert.deepEqual(
      c.elus.map((e) => decide(e)),
      c.want,
      c.desc,
    );
  }
});

test('idle GC: the timer collects through the real memory-reducing GC without exposing gc globally', async () => {
  // Waits on the collector's own calls, never on a wall-clock window (a loaded machine delays timers).
  const elus = [0.9, 0, 0];
  let collected = 0;
  let checks = 0;
  const { promise: fourChecks, resolve } = Promise.withResolvers<void>();
  const stop = startIdleGc({
    everyMs: 5,
    utilization: () => {
      if (++checks === 5) resolve();
      return elus.shift() ?? 0;
    },
    collect: () => {
      collected++;
    },
  });
  await fourChecks;
  stop();
  assert.equal(collected, 1);
  // The real collector: the decision on the third check runs it synchronously; the fourth proves it returned.
  const elus2 = [0.9, 0, 0];
  let checks2 = 0;
  const { promise: done, resolve: resolve2 } = Promise.withResolvers<void>();
  const stop2 = startIdleGc({
    everyMs: 5,
    utilization: () => {
      if (++checks2 === 4) resolve2();
      return elus2.shift() ?? 0;
    },
  });
  await done;
  stop2();
  assert.equal((globalThis as { gc?: unknown }).gc, undefined);
});
