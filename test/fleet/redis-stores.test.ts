import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import { RedisClaimStore, type HostClaim } from '../../src/fleet/redis-claim-store.ts';
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

  const claimCases: { desc: string; claims: HostClaim[]; winner: string }[] = [
    { desc: 'earliest container wins whatever order the hosts report in', claims: [
      { host: 'shop.example.com', owner: 'repo-b', container: 'c2', createdAt: 2000 },
      { host: 'shop.example.com', owner: 'repo-a', container: 'c1', createdAt: 1000 },
    ], winner: 'repo-a' },
    { desc: 'a later claimant never takes a host', claims: [
      { host: 'blog.example.com', owner: 'repo-a', container: 'c1', createdAt: 1000 },
      { host: 'blog.example.com', owner: 'repo-b', container: 'c2', createdAt: 5000 },
    ], winner: 'repo-a' },
    { desc: 'host names compare case-insensitively', claims: [
      { host: 'Case.Example.com', owner: 'repo-a', container: 'c1', createdAt: 1000 },
      { host: 'case.example.com', owner: 'repo-b', container: 'c2', createdAt: 2000 },
    ], winner: 'repo-a' },
    { desc: 'equal creation times: the same owner wins on every host', claims: [
      { host: 'tie.example.com', owner: 'repo-z', container: 'c1', createdAt: 1000 },
      { host: 'tie.example.com', owner: 'repo-m', container: 'c2', createdAt: 1000 },
    ], winner: 'repo-m' },
  ];
  for (const c of claimCases) {
    test(`claims: ${c.desc}`, async (t) => {
      if (!redis) return t.skip('redis-server not installed');
      const [a, b] = hosts();
      const stores = [new RedisClaimStore(a), new RedisClaimStore(b)];
      await Promise.all(c.claims.map((cl, i) => stores[i % 2]!.claim(cl)));
      assert.equal((await stores[0]!.get(c.claims[0]!.host))?.owner, c.winner);
      // Asked again, in any order, every host hears the same winner.
      for (const cl of [...c.claims].reverse()) assert.equal((await stores[1]!.claim(cl)).owner, c.winner);
    });
  }

  test('claims: a hundred concurrent claims from two hosts agree on the earliest', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const [a, b] = hosts();
    const stores = [new RedisClaimStore(a), new RedisClaimStore(b)];
    const claims = Array.from({ length: 100 }, (_, i) => ({ host: 'race.example.com', owner: `repo-${i}`, container: `c${i}`, createdAt: 10_000 + ((i * 37) % 100) }));
    await Promise.all(claims.map((c, i) => stores[i % 2]!.claim(c)));
    assert.equal((await stores[1]!.get('race.example.com'))?.owner, 'repo-0');
    await stores[0]!.release('race.example.com', 'repo-5');
    assert.equal((await stores[0]!.get('race.example.com'))?.owner, 'repo-0', 'only the owner releases');
    await stores[0]!.release('race.example.com', 'repo-0');
    assert.equal(await stores[0]!.get('race.example.com'), undefined);
  });

  test('ports: the same service gets the same port on every host; others get the next free ones', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const [a, b] = hosts();
    const range = { from: 10000, to: 10003 };
    const [pa, pb] = [new RedisPortStore(a), new RedisPortStore(b)];
    const same = await Promise.all([pa.assign('db@docker', 'tcp', range), pb.assign('db@docker', 'tcp', range), pa.assign('db@docker', 'tcp', range)]);
    assert.deepEqual(same, [{ port: 10000 }, { port: 10000 }, { port: 10000 }]);
    const others = await Promise.all(['x', 'y', 'z'].map((k, i) => (i % 2 ? pa : pb).assign(`${k}@docker`, 'tcp', range)));
    assert.deepEqual(others.map((o) => ('port' in o ? o.port : -1)).sort(), [10001, 10002, 10003]);
    assert.match(JSON.stringify(await pa.assign('full@docker', 'tcp', range)), /no free tcp port .*10000-10003 across the fleet/);
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
    assert.deepEqual(await p.assign('other', 'tcp', { from: 20000, to: 20010 }), { port: 20000 }, 'the old port is free again');
  });
});
