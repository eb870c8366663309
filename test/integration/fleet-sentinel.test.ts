import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { waitUntil } from '../helpers/net.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { startRedis, startSentinel, type RedisProcess } from '../helpers/redis.ts';
import {
  ConfigServer,
  fleetHealth,
  routersFor,
  servedLeaf,
  startHost,
  startUpstream,
  validNames,
  type FleetHost,
} from './fleet-harness.ts';

/**
 * A fleet on Redis Sentinel (master, replica, sentinel from Debian's packages): the master dies
 * while orders run, the replica takes over, and no certificate is lost or ordered twice.
 */
const NAMES = [1, 2, 3, 4, 5, 6].map((i) => ({ name: `app.f${i}.example.com`, resolver: 'slow' }));

describe('fleet on Redis Sentinel', () => {
  let missing: string | undefined;
  let pebble: Pebble;
  let cf: CloudflareEmulator;
  let master: RedisProcess;
  let replica: RedisProcess;
  let sentinel: RedisProcess;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  const hosts: FleetHost[] = [];
  const configs = new ConfigServer();

  before(async () => {
    missing =
      ['pebble', 'pebble-challtestsrv', 'redis-server', 'redis-sentinel'].filter((t) => !hasTool(t)).join(', ') ||
      undefined;
    if (missing) {
      if (requireIntegration) throw new Error(`missing tools: ${missing}`);
      return;
    }
    pebble = await startPebble();
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    master = await startRedis();
    replica = await startRedis(['--replicaof', '127.0.0.1', String(master.port)]);
    await waitUntil(
      async () => /master_link_status:up/.test(await replica.command('INFO', 'replication')),
      'the replica to sync',
      10_000,
      50,
    );
    sentinel = await startSentinel('berth', master.port);
    await waitUntil(
      async () => /slaves=1/.test(await sentinel.command('INFO', 'sentinel')),
      'the sentinel to see the replica',
      15_000,
      100,
    );
    upstream = await startUpstream();
    await configs.start();
    // A lease outlives a failover (about 2 s here), so its holder keeps it across one.
    const fleet = { sentinels: [sentinel.url], masterName: 'berth', leaseDuration: '10s', syncInterval: '2s' };
    hosts.push(
      ...(await Promise.all(
        ['edge-a', 'edge-b', 'edge-c'].map((node) => startHost({ node, pebble, cf, fleet, configs })),
      )),
    );
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.proc.stop()));
    await Promise.all([master, replica, sentinel].map((r) => r?.kill()));
    await pebble?.stop();
    await cf?.close();
    upstream?.server.close();
    configs.close();
  });

  test('a master failover during orders loses no certificate and orders none twice', async (t) => {
    if (missing) return t.skip(`missing tools: ${missing}`);
    const [orders, issued] = [pebble.orders(), pebble.finalizations()];
    for (const h of hosts) configs.set(h.node, 'shared', routersFor(NAMES, upstream.url));
    await waitUntil(
      async () =>
        (await Promise.all(hosts.map(fleetHealth))).some((f) => f.leases.some((l) => !l.startsWith('account|'))),
      'orders to be under way',
      20_000,
      50,
    );
    await master.kill();
    await waitUntil(
      async () => /role:master/.test(await replica.command('INFO', 'replication')),
      'the sentinel to promote the replica',
      20_000,
      100,
    );
    await waitUntil(
      async () => {
        for (const h of hosts) {
          const valid = await validNames(h);
          if (!NAMES.every((n) => valid.has(n.name))) return false;
        }
        return true;
      },
      'every host to serve the six names after the failover',
      60_000,
      200,
    );
    assert.equal(pebble.orders() - orders, NAMES.length, 'no order twice');
    assert.equal(pebble.finalizations() - issued, NAMES.length);
    assert.match(
      await replica.command('HLEN', 'berth:acme:slow:certs'),
      /:6/,
      'every certificate in the promoted master',
    );
    const { root } = await pebble.roots();
    for (const h of hosts)
      for (const { name } of NAMES)
        assert.match((await servedLeaf(h.websecure, name, root)).san, new RegExp(name.replace(/\./g, '\\.')));
    for (const h of hosts) assert.equal((await fleetHealth(h)).connected, true);
  });
});
