import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idleGcDecider, startIdleGc } from '../../src/lib/idle-gc.ts';

test('idle GC: one collection after a busy period, once the loop stayed quiet for the given checks', () => {
  const cases = [
    { desc: 'never busy: never', elus: [0, 0, 0, 0], want: [false, false, false, false] },
    { desc: 'busy then two quiet checks', elus: [0.5, 0.01, 0.01, 0.01, 0.01], want: [false, false, true, false, false] },
    { desc: 'busy again in between restarts the count', elus: [0.5, 0.01, 0.6, 0.01, 0.01], want: [false, false, false, false, true] },
    { desc: 'a second burst gets its own collection', elus: [0.9, 0, 0, 0.9, 0, 0], want: [false, false, true, false, false, true] },
  ];
  for (const c of cases) {
    const decide = idleGcDecider(0.05, 2);
    assert.deepEqual(c.elus.map((e) => decide(e)), c.want, c.desc);
  }
});

test('idle GC: the timer collects through the real memory-reducing GC without exposing gc globally', async () => {
  const elus = [0.9, 0, 0];
  let collected = 0;
  const stop = startIdleGc({ everyMs: 5, utilization: () => elus.shift() ?? 0, collect: () => { collected++; } });
  await new Promise((r) => setTimeout(r, 60));
  stop();
  assert.equal(collected, 1);
  // The real collector: runs once and leaves no global gc behind.
  const elus2 = [0.9, 0, 0];
  const stop2 = startIdleGc({ everyMs: 5, utilization: () => elus2.shift() ?? 0 });
  await new Promise((r) => setTimeout(r, 60));
  stop2();
  assert.equal((globalThis as { gc?: unknown }).gc, undefined);
});
