import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import {
  ConfigServer,
  fleetHealth,
  get,
  restartHost,
  routersFor,
  servedLeaf,
  startHost,
  startUpstream,
  validNames,
  type FleetHost,
} from './fleet-harness.ts';
import { timeoutSignal } from '../helpers/with-timeout.ts';

/**
 * Three berth hosts sharing one Redis (SPEC §13), with real pebble and the Cloudflare emulator:
 * each certificate is ordered once for the fleet, any host answers challenges, a host dying
 * mid-order is replaced, and a Redis outage costs no request.
 */
const LEASE_MS = 2000;
const SIX = [1, 2, 3, 4, 5, 6].map((i) => ({ name: `app.s${i}.example.com`, resolver: 'le' }));

describe('fleet of three hosts on one Redis', () => {
  let missing: string | undefined;
  let pebble: Pebble;
  let cf: CloudflareEmulator;
  let redis: RedisProcess;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let root: string;
  const hosts: FleetHost[] = [];
  const configs = new ConfigServer();
  const shared: { name: string; resolver: string }[] = [...SIX];

  /** The dynamic file every host reads; `only` adds routers for one host alone. */
  const publish = (only?: { host: FleetHost; names: { name: string; resolver: string }[] }) => {
    for (const h of hosts) configs.set(h.node, 'shared', routersFor(shared, upstream.url));
    if (only) configs.set(only.host.node, 'own', routersFor(only.names, upstream.url));
  };
  const servesAll = async (names: string[], on = hosts) => {
    for (const h of on) {
      const valid = await validNames(h);
      if (!names.every((n) => valid.has(n))) return false;
    }
    return true;
  };

  before(async () => {
    missing = ['pebble', 'pebble-challtestsrv', 'redis-server'].filter((t) => !hasTool(t)).join(', ') || undefined;
    if (missing) {
      if (requireIntegration) throw new Error(`missing tools: ${missing}`);
      return;
    }
    const webB = await freePort();
    pebble = await startPebble({ httpPort: webB });
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    redis = await startRedis();
    upstream = await startUpstream();
    await configs.start();
    root = (await pebble.roots()).root;
    const fleet = { redis: redis.url, leaseDuration: `${LEASE_MS}ms`, syncInterval: '2s' };
    const started = await Promise.all([
      startHost({ node: 'edge-a', pebble, cf, fleet, configs }),
      startHost({ node: 'edge-b', pebble, cf, fleet, configs, web: webB }),
      startHost({ node: 'edge-c', pebble, cf, fleet, configs }),
    ]);
    hosts.push(...started);
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.proc.stop()));
    await redis?.kill();
    await pebble?.stop();
    await cf?.close();
    upstream?.server.close();
    configs.close();
  });

  test('six routers on three hosts: every host serves all six, each name ordered exactly once', async (t) => {
    if (missing) return t.skip(`missing tools: ${missing}`);
    const [orders, issued] = [pebble.orders(), pebble.finalizations()];
    publish();
    await waitUntil(() => servesAll(SIX.map((s) => s.name)), 'all three hosts to serve the six names', 60_000, 200);
    assert.equal(pebble.orders() - orders, 6, 'one order per name at the CA');
    assert.equal(pebble.finalizations() - issued, 6);
    const txt = cf.created
      .filter((r) => r.type === 'TXT')
      .map((r) => r.name)
      .sort();
    const expected = SIX.flatMap((s) => [`_acme-challenge.${s.name}`, `_acme-challenge.${s.name.slice(4)}`]).sort();
    assert.deepEqual(txt, expected, 'one challenge record per name at the DNS API');
    for (const h of hosts) {
      for (const { name } of SIX)
        assert.match((await servedLeaf(h.websecure, name, root)).san, new RegExp(`DNS:${name.replace(/\./g, '\\.')}`));
      assert.equal(await get(h.websecure, SIX[0]!.name, root), 200);
      const health = await fleetHealth(h);
      assert.equal(health.connected, true);
      assert.equal(health.node, h.node);
      assert.ok(health.lastSync, 'reconciled with Redis');
      const metrics = await (
        await fetch(`${h.proc.apiUrl}/metrics`, { signal: timeoutSignal(15_000, 'berth /metrics') })
      ).text();
      assert.match(metrics, new RegExp(`berth_fleet_connected\\{node="${h.node}"\\} 1`));
      assert.match(metrics, /berth_fleet_leases_held\{node="[^"]+"\} 0/);
    }
  });

  test('an HTTP-01 challenge of an order placed by one host is answered by another', async (t) => {
    if (missing) return t.skip(`missing tools: ${missing}`);
    // Only edge-a has this router, so only edge-a orders; pebble validates on edge-b's web port.
    const [a, b] = [hosts[0]!, hosts[1]!];
    publish({ host: a, names: [{ name: 'http01.example.net', resolver: 'web' }] });
    await waitUntil(() => servesAll(['http01.example.net'], [a]), 'edge-a to get its HTTP-01 certificate', 30_000, 200);
    assert.match((await servedLeaf(a.websecure, 'http01.example.net', root)).san, /DNS:http01\.example\.net/);
    assert.equal(b.web, pebble.httpPort);
    assert.ok(a.proc.logs.some((l) => /ordering certificate/.test(l) && /http01\.example\.net/.test(l)));
    assert.ok(
      !b.proc.logs.some((l) => /ordering certificate/.test(l) && /http01\.example\.net/.test(l)),
      'edge-b never ordered it',
    );
  });

  // The time to take over (lease + a few seconds on an idle machine) is reported, not asserted: a
  // loaded machine stretches the order itself, and a deadline here would only measure the load.
  test("the host holding an order's lease is SIGKILLed mid-order: another completes it, stored once", async (t) => {
    if (missing) return t.skip(`missing tools: ${missing}`);
    const [orders, issued] = [pebble.orders(), pebble.finalizations()];
    shared.push({ name: 'app.s7.example.com', resolver: 'slow' });
    publish();
    let holder: FleetHost | undefined;
    await waitUntil(
      async () => {
        for (const h of hosts) if ((await fleetHealth(h)).leases.some((l) => l.includes('s7.example.com'))) holder = h;
        return holder !== undefined;
      },
      'a host to take the lease',
      20_000,
      50,
    );
    holder!.proc.kill();
    const killedAt = Date.now();
    await holder!.proc.exited;
    const others = hosts.filter((h) => h !== holder);
    try {
      await waitUntil(
        () => servesAll(['app.s7.example.com'], others),
        'another host to complete the order',
        LEASE_MS + 60_000,
        100,
      );
      t.diagnostic(`taken over and completed ${Date.now() - killedAt} ms after the kill`);
      assert.equal(pebble.finalizations() - issued, 1, 'one certificate issued');
      assert.ok(pebble.orders() - orders <= 2, 'the abandoned order and the one that completed');
      const stored = await redis.command('HGET', 'berth:acme:slow:certs', 'app.s7.example.com');
      assert.doesNotMatch(stored, new RegExp(`"node":"${holder!.node}"`), 'nothing stored by the killed host');
    } finally {
      await restartHost(holder!);
    }
    await waitUntil(
      () => servesAll(SIX.map((s) => s.name).concat('app.s7.example.com'), [holder!]),
      'the restarted host to serve everything',
      20_000,
      100,
    );
  });

  test("Redis killed for 30 s under load: no request fails; afterwards a new router's certificate is ordered once", async (t) => {
    if (missing) return t.skip(`missing tools: ${missing}`);
    let stop = false;
    const counts = { ok: 0, failed: 0, errors: [] as string[] };
    const loops = hosts.map(async (h, i) => {
      for (let n = i; !stop; n++) {
        const name = SIX[n % SIX.length]!.name;
        try {
          const status = await get(h.websecure, name, root);
          if (status === 200) counts.ok++;
          else {
            counts.failed++;
            counts.errors.push(`${h.node} ${name}: ${status}`);
          }
        } catch (err) {
          counts.failed++;
          counts.errors.push(`${h.node} ${name}: ${(err as Error).message}`);
        }
      }
    });
    try {
      const orders = pebble.orders();
      await redis.kill();
      const down = Date.now();
      await waitUntil(
        async () => (await Promise.all(hosts.map(fleetHealth))).every((f) => !f.connected),
        'every host to see Redis gone',
        10_000,
        100,
      );
      shared.push({ name: 'app.s8.example.com', resolver: 'le' });
      publish();
      let seen: unknown;
      await waitUntil(
        async () => {
          const all = await Promise.all(
            hosts.map((h) =>
              h.proc.api<{ certificates: { managed: { main: string; state: string; lastError?: string }[] } }>(
                '/health',
              ),
            ),
          );
          seen = all.map((hh) => hh.certificates.managed.filter((m) => /s8/.test(m.main)));
          return all.every((hh) => hh.certificates.managed.some((m) => m.main === 'app.s8.example.com'));
        },
        'every host to want the new certificate',
        10_000,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(seen)}`);
      });
      // The outage lasts 30 s (the duration under test, not a wait for something to happen).
      await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - down))));
      assert.equal(pebble.orders(), orders, 'nothing ordered while Redis is down');
      await redis.restart();
      await waitUntil(
        () => servesAll(['app.s8.example.com']),
        'the new certificate on every host after Redis returns',
        30_000,
        200,
      );
      stop = true;
      await Promise.all(loops);
      assert.equal(counts.failed, 0, counts.errors.slice(0, 5).join('; '));
      assert.ok(counts.ok > 30, `requests served during the outage: ${counts.ok}`);
      assert.equal(pebble.orders() - orders, 1, 'ordered once, after Redis returned');
      // What Redis lost (no persistence) was pushed back by the hosts.
      await waitUntil(
        async () => (await redis.command('HLEN', 'berth:acme:le:certs')).includes(':7'),
        'the hosts to restore the six + one certificates in Redis',
        20_000,
        200,
      );
    } finally {
      stop = true;
      await Promise.all(loops);
      if (!redis.running) await redis.restart();
    }
  });
});
