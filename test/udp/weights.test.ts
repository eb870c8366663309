import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { buildUdpRouting } from '../../src/udp/build.ts';
import { UdpEntrypoint } from '../../src/udp/entrypoint.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import type { EntryPointConfig } from '../../src/config/static/types.ts';
import { ask, silentLogger, udpServer } from './udp-harness.ts';

/**
 * Weights of UDP services on real sockets: each new session (a client address:port berth has not
 * seen) takes the next server of the smooth weighted round robin, so over a whole number of
 * rounds the counts per server are exact.
 */

const EPS: Record<string, EntryPointConfig> = {
  'udp-ep': { address: '127.0.0.1:0/udp', host: '127.0.0.1', port: 0, protocol: 'udp' },
};

/** Runs `sessions` sessions (one client socket each, all kept open so no port is reused) and counts who answered. */
async function distribute(udp: NonNullable<DynamicConfig['udp']>, sessions: number): Promise<Record<string, number>> {
  const built = buildUdpRouting({ udp }, EPS, { logger: silentLogger });
  assert.deepEqual(built.diagnostics, []);
  const routing = built.routing.get('udp-ep');
  const ep = new UdpEntrypoint('udp-ep', EPS['udp-ep']!, () => routing, { logger: silentLogger });
  await ep.start();
  const clients: DgramSocket[] = [];
  const counts: Record<string, number> = {};
  try {
    for (let i = 0; i < sessions; i++) {
      const c = createSocket('udp4');
      clients.push(c);
      await new Promise<void>((r) => c.bind(0, '127.0.0.1', r));
      const reply = await ask(ep.address().port, Buffer.from(`s${i}`), 5000, c);
      assert.ok(reply, `session ${i} got an answer`);
      const who = reply.toString();
      counts[who] = (counts[who] ?? 0) + 1;
    }
    assert.equal(ep.sessionCount, sessions, 'each client is its own session');
  } finally {
    for (const c of clients) c.close();
    await ep.stop();
  }
  return counts;
}

async function named(...names: string[]): Promise<{ ports: Record<string, number>; close(): Promise<void> }> {
  const servers = await Promise.all(names.map((n) => udpServer(() => Buffer.from(n))));
  return {
    ports: Object.fromEntries(names.map((n, i) => [n, servers[i]!.port])),
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

describe('UDP weights', () => {
  test('loadBalancer.servers.weight: 3:1 gives 6 and 2 sessions out of 8; weight 0 gets none', async () => {
    const up = await named('heavy', 'light', 'off');
    try {
      const counts = await distribute(
        {
          routers: { 'r@file': { entryPoints: ['udp-ep'], service: 's@file' } },
          services: {
            's@file': {
              loadBalancer: {
                servers: [
                  { address: `127.0.0.1:${up.ports['heavy']}`, weight: 3 },
                  { address: `127.0.0.1:${up.ports['light']}`, weight: 1 },
                  { address: `127.0.0.1:${up.ports['off']}`, weight: 0 },
                ],
              },
            },
          },
        },
        8,
      );
      assert.deepEqual(counts, { heavy: 6, light: 2 });
    } finally {
      await up.close();
    }
  });

  test('weighted.services.weight: 1:2 between two services gives 3 and 6 sessions out of 9', async () => {
    const up = await named('blue', 'green');
    try {
      const counts = await distribute(
        {
          routers: { 'r@file': { entryPoints: ['udp-ep'], service: 'canary@file' } },
          services: {
            'canary@file': {
              weighted: {
                services: [
                  { name: 'blue', weight: 1 },
                  { name: 'green', weight: 2 },
                ],
              },
            },
            'blue@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${up.ports['blue']}` }] } },
            'green@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${up.ports['green']}` }] } },
          },
        },
        9,
      );
      assert.deepEqual(counts, { blue: 3, green: 6 });
    } finally {
      await up.close();
    }
  });
});
