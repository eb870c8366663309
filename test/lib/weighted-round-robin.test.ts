import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WeightedRoundRobin } from '../../src/lib/weighted-round-robin.ts';

function picks<T>(wrr: WeightedRoundRobin<T>, n: number, usable?: (t: T) => boolean): (T | undefined)[] {
  return Array.from({ length: n }, () => wrr.next(usable));
}

describe('smooth weighted round robin (the one for HTTP, weighted services, TCP and UDP)', () => {
  const cases = [
    {
      desc: 'nginx interleaving for 5:1:1',
      items: [
        ['a', 5],
        ['b', 1],
        ['c', 1],
      ] as const,
      want: 'aabacaa',
    },
    {
      desc: 'equal weights alternate',
      items: [
        ['a', 1],
        ['b', 1],
      ] as const,
      want: 'abab',
    },
    {
      desc: 'weight 0 is never picked',
      items: [
        ['a', 0],
        ['b', 2],
      ] as const,
      want: 'bbb',
    },
    { desc: 'a single item', items: [['a', 3]] as const, want: 'aaa' },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const wrr = new WeightedRoundRobin(c.items.map(([item, weight]) => ({ item, weight })));
      assert.equal(picks(wrr, c.want.length).join(''), c.want);
    });
  }

  test('items that cannot serve are skipped; the others share the load by their weights', () => {
    const wrr = new WeightedRoundRobin([
      { item: 'a', weight: 2 },
      { item: 'b', weight: 1 },
      { item: 'c', weight: 1 },
    ]);
    const down = new Set(['a']);
    const got = picks(wrr, 6, (x) => !down.has(x));
    assert.deepEqual(got.filter((x) => x === 'b').length, 3);
    assert.deepEqual(got.filter((x) => x === 'c').length, 3);
    down.add('b').add('c');
    assert.equal(
      wrr.next((x) => !down.has(x)),
      undefined,
    );
  });

  test('no items, or only weight 0: nothing to pick', () => {
    assert.equal(new WeightedRoundRobin<string>([]).next(), undefined);
    assert.equal(new WeightedRoundRobin([{ item: 'a', weight: 0 }]).next(), undefined);
  });
});
