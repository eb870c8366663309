/**
 * The Docker provider's claim store in a fleet, on a real Redis: each "host" is a FleetClaims on
 * its own state directory (with its ledger where the policy matters); a host "without Redis" is one
 * whose connection says so.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import { tempDir } from '../helpers/temp.ts';
import { FleetClaims } from '../../src/fleet/fleet-claims.ts';
import { RedisClaimStore } from '../../src/fleet/redis-claim-store.ts';
import { ClaimLedger } from '../../src/providers/docker/claim-ledger.ts';
import { FileClaimStore, type ClaimRecord } from '../../src/providers/docker/claim-store.ts';

const T0 = Date.parse('2026-12-07T12:00:00Z');

function rec(
  key: string,
  daemon: string,
  container: string,
  createdSecond: number,
  extra: Partial<ClaimRecord> = {},
): ClaimRecord {
  const created = new Date(T0 + createdSecond * 1000).toISOString();
  return {
    key,
    daemon,
    container,
    containerId: `${container}-id`,
    created,
    endpoint: `unix:///run/${daemon}.sock`,
    since: T0,
    ...extra,
  };
}

describe('the claim ledger of a fleet, on a real Redis', () => {
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

  /** A host `node` on `dir`, its claims under `prefix` in Redis. */
  function host(node: string, prefix: string, dir = tempDir(`berth-fleet-claims-${node}-`)) {
    const client = new Redis(redis!.url);
    clients.push(client);
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      {
        write: (s: string) => {
          lines.push(s);
        },
      },
    );
    const link = { up: true };
    const redisClaims = new RedisClaimStore(client, prefix);
    const claims = new FleetClaims({
      node,
      store: redisClaims,
      connected: (): boolean => link.up,
      local: new FileClaimStore(join(dir, 'claims.json'), log),
      cachePath: join(dir, 'fleet-claims.json'),
      rules: { contestMs: 5_000, goneMs: 600_000 },
      liveMs: 60_000,
      notify: () => undefined,
      log,
    });
    let changes = 0;
    claims.onChange(() => {
      changes++;
    });
    return {
      dir,
      lines,
      claims,
      redisClaims,
      client,
      get changes(): number {
        return changes;
      },
      get up(): boolean {
        return link.up;
      },
      set up(v: boolean) {
        link.up = v;
      },
    };
  }

  test("another host's keys are reserved here as daemon@node, with the routes its routers take them by", async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = host('a', 'c1:');
    await a.claims.load();
    await a.claims.save([
      rec('host app.example.com', 'docker-1', 'web', 0, {
        route: { entryPoints: ['websecure'], tls: { certResolver: 'le' } },
      }),
      rec('name http.services.web', 'docker-1', 'web', 0),
    ]);
    await a.claims.sync();
    assert.deepEqual(a.claims.status(), { held: 1, pending: 0, others: 0 });

    const b = host('b', 'c1:');
    await b.claims.load();
    assert.deepEqual(b.claims.held().get('host app.example.com'), {
      daemon: 'docker-1@a',
      container: 'web',
      containerId: 'web-id',
      since: T0,
      created: '2026-12-07T12:00:00.000Z',
    });
    assert.equal(b.claims.held().has('name http.services.web'), false, "element names stay each host's own");
    assert.deepEqual(
      b.claims.others().map((c) => c.route),
      [{ entryPoints: ['websecure'], tls: { certResolver: 'le' } }],
    );
    assert.deepEqual(b.claims.status(), { held: 0, pending: 0, others: 1 });

    // A drops the key: B hears it at its next sync.
    await a.claims.save([]);
    await a.claims.sync();
    const before = b.changes;
    await b.claims.sync();
    assert.equal(b.claims.held().size, 0);
    assert.ok(b.changes > before, 'the provider is told to decode again');
  });

  test('a host that starts without Redis reserves from its cache; one whose claims.json is lost gets its claims back from the fleet', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = host('a', 'c2:');
    await a.claims.load();
    await a.claims.save([rec('host shop.example.com', 'docker-1', 'shop', 0)]);
    await a.claims.sync();
    const b = host('b', 'c2:');
    await b.claims.load();

    const b2 = host('b', 'c2:', b.dir);
    b2.up = false;
    await b2.claims.load();
    assert.equal(b2.claims.held().get('host shop.example.com')?.daemon, 'docker-1@a', 'from fleet-claims.json');

    rmSync(join(a.dir, 'claims.json'));
    const a2 = host('a', 'c2:', a.dir);
    const own = await a2.claims.load();
    assert.deepEqual(
      own.map((r) => `${r.key} ${r.daemon} ${r.container}`),
      ['host shop.example.com docker-1 shop'],
    );
    const ledger = new ClaimLedger(a2.claims, { graceMs: 600_000, logger: pino({ level: 'silent' }) });
    await ledger.load();
    assert.equal(ledger.reserved().get('host shop.example.com')?.daemon, 'docker-1');
  });

  test('one name claimed on two hosts during an outage: the earlier container wins when Redis is back, whichever host pushes first; the loser drops it', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = host('a', 'c3:');
    const b = host('b', 'c3:');
    await Promise.all([a.claims.load(), b.claims.load()]);
    a.up = false;
    b.up = false;
    // Each host granted the name to its own container; B's was created first.
    await a.claims.save([rec('host dup.example.com', 'docker-1', 'dup-a', 5)]);
    await b.claims.save([rec('host dup.example.com', 'docker-2', 'dup-b', 1)]);
    const ledgerA = new ClaimLedger(a.claims, {
      graceMs: 600_000,
      logger: pino(
        { level: 'info' },
        {
          write: (s: string) => {
            a.lines.push(s);
          },
        },
      ),
    });
    await ledgerA.load();
    assert.equal(a.claims.status().pending, 1);

    a.up = true;
    b.up = true;
    await a.claims.sync(); // A is first back...
    await b.claims.sync(); // ...B's older container still takes the name: the claim is fresh.
    await a.claims.sync();
    assert.equal(a.claims.held().get('host dup.example.com')?.daemon, 'docker-2@b');
    assert.equal(b.claims.held().size, 0);
    assert.deepEqual(b.claims.status(), { held: 1, pending: 0, others: 0 });

    ledgerA.adoptShared();
    assert.equal(
      ledgerA.reserved().get('host dup.example.com')?.container,
      'dup-b',
      "A reserves it for B's container now",
    );
    assert.deepEqual(ledgerA.list(), [], 'and holds nothing itself');
    assert.ok(
      a.lines.some((l) =>
        l.includes(
          'claim lost to the fleet: host dup.example.com belongs to container \\"dup-b\\" (daemon docker-2@b)',
        ),
      ),
      a.lines.join('\n'),
    );
    await ledgerA.flushed();
    await a.claims.sync();
    assert.equal(a.claims.status().pending, 0);
  });

  test('an emptied Redis gets back the claims the hosts knew, as established: no older container elsewhere takes them, and no refused claimant takes a free name', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const p = 'c5:';
    const a = host('a', p);
    const b = host('b', p);
    await Promise.all([a.claims.load(), b.claims.load()]);
    await a.claims.save([rec('host x.example.com', 'docker-1', 'owner', 9)]);
    await a.claims.sync();
    await b.claims.sync();
    for (const k of await a.client.keys(`${p}*`)) await a.client.del(k); // Redis restarted without persistence
    await b.claims.sync(); // B is back first: it puts back what it knew
    assert.equal(b.claims.held().get('host x.example.com')?.daemon, 'docker-1@a');
    const c = host('c', p);
    await c.claims.load();
    await c.claims.save([rec('host x.example.com', 'docker-3', 'older', 0)]);
    await c.claims.sync();
    assert.equal(
      c.claims.held().get('host x.example.com')?.container,
      'owner',
      'the put-back claim is not open to a contest',
    );
    await a.claims.sync();
    assert.deepEqual(a.claims.status(), { held: 1, pending: 0, others: 0 });
    b.claims.report([
      {
        key: 'host free.example.com',
        claimant: { daemon: 'docker-2', container: 'w', containerId: 'w-id' },
        element: 'http.routers.w',
      },
    ]);
    await b.claims.sync();
    assert.equal(
      b.claims.others().some((x) => x.key === 'host free.example.com'),
      false,
    );
    assert.equal(
      (await b.redisClaims.list()).has('host free.example.com'),
      false,
      'a refused claimant never takes a free name: its host grants it',
    );
  });

  test("a claimant refused on one host shows on the holder's host while the refusing host is alive; it takes the name once the holder's host is silent for the grace period", async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = host('a', 'c4:');
    const b = host('b', 'c4:');
    await Promise.all([a.claims.load(), b.claims.load()]);
    await a.redisClaims.touch('a');
    await a.claims.save([rec('host x.example.com', 'docker-1', 'owner', 5)]);
    await a.claims.sync();
    await b.claims.sync();
    await b.redisClaims.touch('b');
    b.claims.report([
      {
        key: 'host x.example.com',
        claimant: {
          daemon: 'docker-2',
          container: 'squat',
          containerId: 'squat-id',
          created: new Date(T0 + 9000).toISOString(),
        },
        element: 'http.routers.squat',
      },
    ]);
    await b.claims.sync();
    assert.equal(
      b.claims.held().get('host x.example.com')?.container,
      'owner',
      'an established claim stays with its holder',
    );
    await a.claims.sync();
    assert.deepEqual(a.claims.diagnostics(), [
      {
        level: 'warning',
        source: 'container "squat" on daemon docker-2 of fleet node b',
        element: 'http.routers.squat',
        message:
          'host x.example.com belongs to container "owner" (daemon docker-1) on this host, fleet node a; node b refuses this claimant',
      },
    ]);

    // A's host goes silent for longer than the grace period: B's claimant gets the name at B's next sync.
    const seen = (await a.redisClaims.seen()).get('a')!;
    await a.client.hset('c4:seen', 'a', String(seen - 700_000));
    await b.claims.sync();
    assert.equal(b.claims.held().has('host x.example.com'), false, "the name is B's now");
    await a.claims.sync();
    assert.equal(a.claims.held().get('host x.example.com')?.daemon, 'docker-2@b');
  });
});
