import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import { RedisClaimStore, type ClaimRules, type FleetClaim } from '../../src/fleet/redis-claim-store.ts';
import { RedisPortStore } from '../../src/fleet/redis-port-store.ts';

describe('fleet claim ledger and port assignments on a real Redis', () => {
  let redis: RedisProcess | undefined;
  const clients: Redis[] = [];
  before(async () => {
    if (!hasTool('redis-server')) {
      if (requireIntegration) throw new Error('redis-server is required');
      return;
    }
    redis = await startRedis();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis?.kill();
  });
  /** Two hosts, each with its own connection. */
  const hosts = () => {
    const a = new Redis(redis!.url);
    const b = new Redis(redis!.url);
    clients.push(a, b);
    return [a, b] as const;
  };

  const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const claim = (
    node: string,
    daemon: string,
    container: string,
    created: string,
    key = 'host shop.example.com',
  ): FleetClaim => ({ key, node, daemon, container, containerId: `${container}-id`, created, since: 1 });
  const OPEN = { contestMs: 60_000, goneMs: 600_000 };
  const SETTLED = { contestMs: 0, goneMs: 600_000 };

  const claimCases: { desc: string; rules: ClaimRules; claims: FleetClaim[]; winner: string; ownUpdate?: true }[] = [
    {
      desc: 'hosts claiming together: the earliest container wins whatever order they report in',
      rules: OPEN,
      claims: [claim('b', 'docker-2', 'c2', at(2)), claim('a', 'docker-1', 'c1', at(1))],
      winner: 'c1',
    },
    {
      desc: 'a later claimant never takes a host',
      rules: OPEN,
      claims: [claim('a', 'docker-1', 'c1', at(1)), claim('b', 'docker-2', 'c2', at(5))],
      winner: 'c1',
    },
    {
      desc: 'a settled claim stays with its holder, even against an older container',
      rules: SETTLED,
      claims: [claim('b', 'docker-2', 'c2', at(2)), claim('a', 'docker-1', 'c1', at(1))],
      winner: 'c2',
    },
    {
      desc: 'creation times compare to the nanosecond, not as strings',
      rules: OPEN,
      claims: [
        claim('b', 'docker-2', 'c2', '2026-01-01T00:00:01.5Z'),
        claim('a', 'docker-1', 'c1', '2026-01-01T00:00:01.123456789Z'),
      ],
      winner: 'c1',
    },
    {
      desc: 'equal creation times: the same owner wins on every host',
      rules: OPEN,
      claims: [claim('z', 'docker-1', 'c1', at(1)), claim('m', 'docker-1', 'c2', at(1))],
      winner: 'c2',
    },
    {
      desc: 'a node updates its own claim (another of its daemons took the key)',
      rules: SETTLED,
      claims: [claim('a', 'docker-1', 'c1', at(1)), claim('a', 'docker-3', 'c3', at(9))],
      winner: 'c3',
      ownUpdate: true,
    },
  ];
  for (const c of claimCases) {
    test(`claims: ${c.desc}`, async (t) => {
      if (!redis) return t.skip('redis-server not installed');
      const [a, b] = hosts();
      const prefix = `berth-${claimCases.indexOf(c)}:`;
      const stores = [new RedisClaimStore(a, prefix), new RedisClaimStore(b, prefix)];
      for (const [i, cl] of c.claims.entries()) await stores[i % 2]!.claim(cl, c.rules);
      assert.equal((await stores[0]!.list()).get(c.claims[0]!.key)?.container, c.winner);
      // Asked again, in any order, every host hears the same winner (a node's own update is its own decision).
      if (!c.ownUpdate)
        for (const cl of [...c.claims].reverse())
          assert.equal((await stores[1]!.claim(cl, c.rules)).container, c.winner);
    });
  }

  test('claims: a hundred concurrent claims from two hosts agree on the earliest; only the holder releases', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const [a, b] = hosts();
    const stores = [new RedisClaimStore(a, 'berth-race:'), new RedisClaimStore(b, 'berth-race:')];
    const claims = Array.from({ length: 100 }, (_, i) =>
      claim(`n${i}`, 'docker-1', `c${i}`, at(10 + ((i * 37) % 100)), 'host race.example.com'),
    );
    await Promise.all(claims.map((c, i) => stores[i % 2]!.claim(c, OPEN)));
    assert.equal((await stores[1]!.list()).get('host race.example.com')?.node, 'n0');
    await stores[0]!.release('host race.example.com', 'n5');
    assert.equal((await stores[0]!.list()).get('host race.example.com')?.node, 'n0', 'only the holder releases');
    await stores[0]!.release('host race.example.com', 'n0');
    assert.equal((await stores[0]!.list()).size, 0);
  });

  test('claims: a node silent for longer than the grace period loses its keys to the next claimant', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const [a] = hosts();
    const store = new RedisClaimStore(a, 'berth-gone:');
    await store.touch('a');
    await store.claim(claim('a', 'docker-1', 'c1', at(1)), SETTLED);
    assert.equal((await store.claim(claim('b', 'docker-2', 'c2', at(2)), SETTLED)).node, 'a', 'a is alive');
    const seen = (await store.seen()).get('a')!;
    await a.hset('berth-gone:seen', 'a', String(seen - 700_000));
    assert.equal(
      (await store.claim(claim('b', 'docker-2', 'c2', at(2)), SETTLED)).node,
      'b',
      'a has been silent for 700 s',
    );
  });

  test('claims: refusals and relay URLs per node; malformed entries are skipped', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const [a] = hosts();
    const store = new RedisClaimStore(a, 'berth-misc:');
    await store.report('b', [
      { key: 'host x.example.com', daemon: 'docker-2', container: 'web', element: 'http.routers.web' },
    ]);
    await store.advertise('a', 'http://10.0.0.5:80');
    await a.hset('berth-misc:claims', 'host bad.example.com', '{not json');
    await a.hset('berth-misc:claims:refused', 'c', '[{"key":1}]');
    assert.deepEqual(
      [...(await store.refusals())].sort(([x], [y]) => (x < y ? -1 : 1)),
      [
        ['b', [{ key: 'host x.example.com', daemon: 'docker-2', container: 'web', element: 'http.routers.web' }]],
        ['c', []],
      ],
    );
    assert.deepEqual([...(await store.relays())], [['a', 'http://10.0.0.5:80']]);
    assert.equal((await store.list()).size, 0);
    assert.equal(
      (await store.claim(claim('a', 'docker-1', 'c1', at(1), 'host bad.example.com'), SETTLED)).node,
      'a',
      'a malformed holder is replaced',
    );
    await store.report('b', []);
    assert.equal((await store.refusals()).size, 1);
  });

  test('ports: the same service gets the same port on every host; others get the next free ones', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const [a, b] = hosts();
    const range = { from: 10000, to: 10003 };
    const [pa, pb] = [new RedisPortStore(a), new RedisPortStore(b)];
    const same = await Promise.all([
      pa.assign('db@docker', 'tcp', range),
      pb.assign('db@docker', 'tcp', range),
      pa.assign('db@docker', 'tcp', range),
    ]);
    assert.deepEqual(same, [{ port: 10000 }, { port: 10000 }, { port: 10000 }]);
    const others = await Promise.all(
      ['x', 'y', 'z'].map((k, i) => (i % 2 ? pa : pb).assign(`${k}@docker`, 'tcp', range)),
    );
    assert.deepEqual(others.map((o) => ('port' in o ? o.port : -1)).sort(), [10001, 10002, 10003]);
    assert.match(
      JSON.stringify(await pa.assign('full@docker', 'tcp', range)),
      /no free tcp port .*10000-10003 across the fleet/,
    );
    assert.deepEqual(await pb.assign('db@docker', 'udp', range), { port: 10000 }, 'UDP ports are separate');
    await pa.release('y@docker', 'tcp');
    assert.ok('port' in (await pb.assign('full@docker', 'tcp', range)));
    const listed = await pb.list();
    assert.equal(listed.filter((l) => l.protocol === 'tcp').length, 4);
    assert.ok(listed.every((l) => typeof l.assignedAt === 'string'));
  });

  test('ports: an assignment outside a narrowed range moves into it', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const [a] = hosts();
    const p = new RedisPortStore(a, 'berth-narrow:');
    assert.deepEqual(await p.assign('svc', 'tcp', { from: 20000, to: 20010 }), { port: 20000 });
    assert.deepEqual(await p.assign('svc', 'tcp', { from: 20005, to: 20010 }), { port: 20005 });
    assert.deepEqual(
      await p.assign('other', 'tcp', { from: 20000, to: 20010 }),
      { port: 20000 },
      'the old port is free again',
    );
  });

  test('ports: a preferred port is kept when no other key has it', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const [a, b] = hosts();
    const [pa, pb] = [new RedisPortStore(a, 'berth-pref:'), new RedisPortStore(b, 'berth-pref:')];
    const range = { from: 30000, to: 30009 };
    assert.deepEqual(await pa.assign('x', 'tcp', range, 30005), { port: 30005 });
    assert.deepEqual(await pb.assign('y', 'tcp', range, 30005), { port: 30000 }, 'taken: the lowest free one');
    assert.deepEqual(await pb.assign('x', 'tcp', range, 30007), { port: 30005 }, 'the key keeps its port');
    assert.deepEqual(await pb.assign('z', 'tcp', range, 40000), { port: 30001 }, 'out of range: ignored');
  });
});
