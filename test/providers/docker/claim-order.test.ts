/** Claim order across daemons: creation time to the nanosecond, then endpoint order, then id. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerView } from '../../../src/config/labels/types.ts';
import { claimOrder, creationKey, type EndpointRank } from '../../../src/providers/docker/claim-order.ts';

function view(id: string, daemon: string, created?: string): ContainerView {
  return {
    id,
    name: id,
    daemon,
    labels: {},
    env: [],
    running: true,
    health: 'none',
    networks: {},
    networkMode: 'host',
    ports: [],
    ...(created !== undefined ? { created } : {}),
  };
}

const ranks: Record<string, EndpointRank> = {
  'docker-9': { index: 0, endpoint: 'unix:///run/docker-9.sock' },
  'docker-1': { index: 1, endpoint: 'unix:///run/a/docker-1.sock' },
  'docker-2': { index: 1, endpoint: 'unix:///run/a/docker-2.sock' },
};
const order = claimOrder((d) => ranks[d] ?? { index: 99, endpoint: d });

describe('claim order', () => {
  const cases: { desc: string; containers: ContainerView[]; want: string[] }[] = [
    {
      desc: 'earlier creation first, whatever the daemon',
      containers: [view('b', 'docker-9', '2026-12-07T10:00:02Z'), view('a', 'docker-2', '2026-12-07T10:00:01Z')],
      want: ['a', 'b'],
    },
    {
      desc: 'nanoseconds count, though Docker trims trailing zeros',
      containers: [
        view('b', 'docker-9', '2026-12-07T10:00:01.5Z'),
        view('a', 'docker-2', '2026-12-07T10:00:01.123456789Z'),
        view('c', 'docker-1', '2026-12-07T10:00:01.500000001Z'),
      ],
      want: ['a', 'b', 'c'],
    },
    {
      desc: 'time zones are honoured',
      containers: [view('b', 'docker-9', '2026-12-07T10:00:00Z'), view('a', 'docker-2', '2026-12-07T11:00:00+02:00')],
      want: ['a', 'b'],
    },
    {
      desc: 'a tie goes to the endpoint listed first in the configuration',
      containers: [view('a', 'docker-1', '2026-12-07T10:00:00.25Z'), view('z', 'docker-9', '2026-12-07T10:00:00.250Z')],
      want: ['z', 'a'],
    },
    {
      desc: 'a tie within one glob goes to the endpoint (socket path) that sorts first',
      containers: [view('a', 'docker-2', '2026-12-07T10:00:00Z'), view('b', 'docker-1', '2026-12-07T10:00:00Z')],
      want: ['b', 'a'],
    },
    {
      desc: 'a tie on one daemon goes to the lower container id',
      containers: [view('ff', 'docker-1', '2026-12-07T10:00:00Z'), view('0a', 'docker-1', '2026-12-07T10:00:00Z')],
      want: ['0a', 'ff'],
    },
    {
      desc: 'unknown or unparsable creation times come after every known one',
      containers: [
        view('x', 'docker-9'),
        view('y', 'docker-9', 'yesterday'),
        view('a', 'docker-2', '2031-01-01T00:00:00Z'),
      ],
      want: ['a', 'x', 'y'],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      assert.deepEqual(
        [...c.containers].sort(order).map((v) => v.id),
        c.want,
      );
      assert.deepEqual(
        [...c.containers]
          .reverse()
          .sort(order)
          .map((v) => v.id),
        c.want,
        'independent of the input order',
      );
    });
  }

  test('creationKey sorts like the instant it names', () => {
    const times = [
      '1969-12-31T23:59:59Z',
      '1970-01-01T00:00:00Z',
      '2026-12-07T10:00:00.000000001Z',
      '2026-12-07T10:00:00.1Z',
      '2026-12-07T10:00:00.999999999Z',
      '2026-12-07T10:00:01Z',
    ];
    const keys = times.map(creationKey);
    assert.deepEqual([...keys].sort(), keys);
    assert.equal(creationKey(undefined), '~');
  });
});
