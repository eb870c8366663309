/**
 * Dynamic ports shared by a fleet, on a real Redis: each "host" is a PortAllocator on its own state
 * directory with the fleet's sync attached; a host "without Redis" is one whose connection says so.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import { tempDir } from '../helpers/temp.ts';
import { PortAllocator } from '../../src/tcp/port-allocator.ts';
import { FleetPorts } from '../../src/fleet/fleet-ports.ts';
import { RedisPortStore } from '../../src/fleet/redis-port-store.ts';

describe('dynamic ports shared by a fleet, on a real Redis', () => {
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

  /** A host: its allocator, the fleet sync, whether it "reaches" Redis, what it logged, its rebuilds. */
  function host(prefix: string, range: { from: number; to: number }, dir = tempDir('berth-fleet-ports-')) {
    const client = new Redis(redis!.url);
    clients.push(client);
    const lines: string[] = [];
    const allocator = new PortAllocator(dir, range);
    const link = { up: true };
    const ports = new FleetPorts({
      allocator,
      store: new RedisPortStore(client, prefix),
      range,
      connected: (): boolean => link.up,
      notify: () => undefined,
      log: pino(
        { level: 'info' },
        {
          write: (s: string) => {
            lines.push(s);
          },
        },
      ),
    });
    const h = {
      dir,
      lines,
      rebuilds: 0,
      allocator,
      ports,
      get up(): boolean {
        return link.up;
      },
      set up(v: boolean) {
        link.up = v;
      },
    };
    allocator.onChange(() => {
      h.rebuilds++;
    });
    return h;
  }
  const port = (a: { port: number } | { error: string }): number => ('port' in a ? a.port : -1);

  test("the same key gets the same port on every host; another host's keys keep their ports", async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const range = { from: 10000, to: 10009 };
    const a = host('p1:', range);
    assert.equal(port(a.allocator.assign('x@docker', 'tcp')), 10000);
    assert.equal(a.allocator.list()[0]!.source, 'local', 'not confirmed yet');
    await a.ports.sync();
    assert.equal(port(a.allocator.assign('y@docker', 'tcp')), 10001);
    await a.ports.sync();
    assert.deepEqual(
      a.allocator.list().map((p) => p.source),
      ['fleet', 'fleet'],
    );

    const b = host('p1:', range);
    await b.ports.sync();
    assert.equal(port(b.allocator.assign('y@docker', 'tcp')), 10001, 'y has its port on B too');
    assert.equal(port(b.allocator.assign('z@docker', 'tcp')), 10002, "and B keeps x's port free");
    await b.ports.sync();
    await a.ports.sync();
    assert.deepEqual(
      a.allocator.list().map((p) => `${p.key}=${p.port}/${p.source}`),
      ['x@docker=10000/fleet', 'y@docker=10001/fleet', 'z@docker=10002/fleet'],
    );
    assert.deepEqual(b.ports.status(), { fleet: 3, pending: 0 });

    // Redis comes back empty: the first host to sync puts back every assignment it knows.
    for (const k of await clients[0]!.keys('p1:*')) await clients[0]!.del(k);
    await b.ports.sync();
    await b.ports.sync();
    assert.deepEqual(
      (await new RedisPortStore(clients[0]!, 'p1:').list()).map((p) => `${p.key}=${p.port}`),
      ['x@docker=10000', 'y@docker=10001', 'z@docker=10002'],
    );
    assert.deepEqual(b.ports.status(), { fleet: 3, pending: 0 });
  });

  test('outage: a port assigned meanwhile stays when it is free in the fleet, moves (reported) when another key got it; a restart keeps what is pending', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const range = { from: 11000, to: 11009 };
    const a = host('p2:', range);
    const b = host('p2:', range);
    a.up = false;
    b.up = false;
    assert.equal(port(a.allocator.assign('p@docker', 'tcp')), 11000);
    assert.equal(port(b.allocator.assign('q@docker', 'tcp')), 11000, 'B cannot know that A took 11000');
    assert.equal(port(b.allocator.assign('r@docker', 'tcp')), 11001);
    // B restarts during the outage: its assignments are still pending.
    const b2 = host('p2:', range, b.dir);
    b2.up = false;
    assert.deepEqual(
      b2.allocator.pending().map((p) => `${p.key}=${p.port}`),
      ['q@docker=11000', 'r@docker=11001'],
    );
    assert.equal(port(b2.allocator.assign('q@docker', 'tcp')), 11000);
    assert.equal(port(b2.allocator.assign('r@docker', 'tcp')), 11001);

    a.up = true;
    await a.ports.sync();
    b2.up = true;
    await b2.ports.sync();
    assert.equal(b2.rebuilds, 1, 'B compiles again: q moves');
    assert.equal(port(b2.allocator.assign('q@docker', 'tcp')), 11002, 'the fleet gave 11000 to p');
    assert.equal(port(b2.allocator.assign('r@docker', 'tcp')), 11001, 'r kept its port: nobody else had it');
    assert.ok(
      b2.lines.some((l) =>
        l.includes(
          'dynamic port moved: tcp port 11000 of q@docker (assigned here while the fleet could not be asked) is 11002 in the fleet',
        ),
      ),
      b2.lines.join('\n'),
    );
    assert.match(b2.ports.diagnostics()[0]!.message, /q@docker/);
    const saved = JSON.parse(readFileSync(join(b.dir, 'ports.json'), 'utf8')) as {
      allocations: { key: string; port: number; source: string }[];
    };
    assert.deepEqual(
      saved.allocations.map((x) => `${x.key}=${x.port}/${x.source}`),
      ['p@docker=11000/fleet', 'r@docker=11001/fleet', 'q@docker=11002/fleet'],
    );
  });

  test("a full range across the fleet refuses new keys instead of reclaiming another host's port", async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const range = { from: 12000, to: 12001 };
    const a = host('p3:', range);
    a.allocator.assign('a1', 'tcp');
    a.allocator.assign('a2', 'tcp');
    await a.ports.sync();
    const b = host('p3:', range);
    b.up = false;
    assert.equal(port(b.allocator.assign('b1', 'tcp')), 12000, 'assigned while the fleet could not be asked');
    b.up = true;
    await b.ports.sync();
    const again = b.allocator.assign('b1', 'tcp');
    assert.ok(
      'error' in again && /no free tcp port .*12000-12001 across the fleet/.test(again.error),
      JSON.stringify(again),
    );
    assert.equal(b.rebuilds, 1);
    assert.deepEqual(
      b.allocator.list().map((p) => p.key),
      ['a1', 'a2'],
      'a1 and a2 stay with A',
    );
    const c = host('p3:', range);
    await c.ports.sync();
    const full = c.allocator.assign('c1', 'udp');
    assert.equal(port(full), 12000, 'UDP has its own ports');
    const tcp = c.allocator.assign('c1', 'tcp');
    assert.ok('error' in tcp && /assigned across the fleet/.test(tcp.error), 'nothing reclaimed locally');
  });
});
