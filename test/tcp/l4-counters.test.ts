import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IntervalLog, L4Counters } from '../../src/tcp/l4-counters.ts';

describe('IntervalLog', () => {
  test('the first event of a key is logged, the rest of the interval only counted', () => {
    const log = new IntervalLog(3_600_000);
    const emitted: [string, number][] = [];
    for (let i = 0; i < 5; i++) log.note('a', (skipped) => emitted.push(['a', skipped]));
    log.note('b', (skipped) => emitted.push(['b', skipped]));
    assert.deepEqual(emitted, [
      ['a', 0],
      ['b', 0],
    ]);
  });
  test('after the interval the next event is logged with the count of those that were not', () => {
    const log = new IntervalLog(0);
    const emitted: number[] = [];
    for (let i = 0; i < 3; i++) log.note('a', (skipped) => emitted.push(skipped));
    assert.deepEqual(emitted, [0, 0, 0]);
  });
  test('many keys stay bounded: quiet ones are forgotten', () => {
    const log = new IntervalLog(0);
    let n = 0;
    for (let i = 0; i < 5000; i++) log.note(`k${i}`, () => n++);
    assert.equal(n, 5000);
    assert.ok(log.size <= 1024, `${log.size} keys`);
  });
});

test("L4Counters adds up its own events and another process's state", () => {
  const c = new L4Counters();
  c.tcpRefused('db@file', 'lan@file');
  c.tcpRefused('db@file', 'lan@file');
  c.udpDropped('udp-53', 'evicted');
  const other = new L4Counters();
  other.tcpRefused('db@file', 'lan@file');
  other.tcpRefused('web@file', 'one@file');
  c.add(other.exportState());
  assert.deepEqual(c.exportState(), {
    tcpRefused: [
      ['db@file', 'lan@file', 3],
      ['web@file', 'one@file', 1],
    ],
    udpDropped: [['udp-53', 'evicted', 1]],
  });
});
