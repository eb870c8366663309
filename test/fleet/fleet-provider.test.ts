/**
 * The `fleet` provider on a real Redis: relay routers for the names other nodes hold, what it
 * refuses to write from hostile or broken entries in Redis, and a start from a corrupt cache.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import { tempDir } from '../helpers/temp.ts';
import { FleetClaims } from '../../src/fleet/fleet-claims.ts';
import { FleetProvider, RELAY_HEADER } from '../../src/fleet/fleet-provider.ts';
import { RedisClaimStore } from '../../src/fleet/redis-claim-store.ts';
import { FileClaimStore } from '../../src/providers/docker/claim-store.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import type { Diagnostic } from '../../src/lib/diagnostics.ts';
import type { ProviderState } from '../../src/providers/provider.ts';

describe('the fleet provider', () => {
  let redis: RedisProcess | undefined;
  let client: Redis;
  before(async () => {
    if (!hasTool('redis-server')) {
      if (requireIntegration) throw new Error('redis-server is required');
      return;
    }
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  after(async () => {
    client?.disconnect();
    await redis?.kill();
  });

  function claims(node: string, prefix: string, dir = tempDir('berth-fleet-provider-'), up = true) {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      {
        write: (s: string) => {
          lines.push(s);
        },
      },
    );
    const c = new FleetClaims({
      node,
      store: new RedisClaimStore(client, prefix),
      connected: () => up,
      local: new FileClaimStore(join(dir, 'claims.json'), log),
      cachePath: join(dir, 'fleet-claims.json'),
      rules: { contestMs: 5_000, goneMs: 600_000 },
      liveMs: 60_000,
      notify: () => undefined,
      log,
    });
    return { c, lines, dir };
  }

  /** Starts a provider on `c` and returns what it published last. */
  async function published(
    c: FleetClaims,
    node: string,
  ): Promise<{ config: DynamicConfig; diagnostics: readonly Diagnostic[]; state?: ProviderState }> {
    const out: { config: DynamicConfig; diagnostics: readonly Diagnostic[]; state?: ProviderState } = {
      config: {},
      diagnostics: [],
    };
    const p = new FleetProvider(
      node,
      () => c,
      () => undefined,
    );
    await p.start({
      publish: (config, diagnostics) => {
        out.config = config;
        out.diagnostics = diagnostics;
      },
      status: (s) => {
        out.state = s;
      },
    });
    await p.stop();
    return out;
  }

  const claim = (node: string, route?: unknown): string =>
    JSON.stringify({
      node,
      daemon: 'docker-1',
      container: 'web',
      containerId: 'web-id',
      since: 1,
      ...(route !== undefined ? { route } : {}),
    });

  test('a relay router per HTTP name of another node, with its entrypoints and TLS; nothing for names of TCP routers, hostile names or nodes without relayUrl', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const p = 'fp1:';
    await client.hset(`${p}claims`, {
      'host app.example.com': claim('a', { entryPoints: ['websecure'], tls: { certResolver: 'le' } }),
      'host db.example.com': claim('a'),
      'host evil.example.com`) || Host(`x': claim('a', {}),
      'host c.example.com': claim('c', {}),
      'host mine.example.com': claim('b', {}),
    });
    await client.hset(`${p}relays`, { a: 'http://127.0.0.1:8081' });
    const b = claims('b', p);
    await b.c.load();
    const out = await published(b.c, 'b');
    assert.deepEqual(out.config.http?.services, {
      'relay-a': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:8081' }], passHostHeader: true } },
    });
    assert.deepEqual(out.config.http?.middlewares, {
      'relay-mark': { headers: { customRequestHeaders: { [RELAY_HEADER]: 'b' } } },
    });
    const routers = Object.entries(out.config.http?.routers ?? {});
    assert.equal(routers.length, 1, JSON.stringify(routers));
    const [name, router] = routers[0]!;
    assert.match(name, /^relay-app-example-com-[0-9a-f]{6}$/);
    assert.deepEqual(router, {
      rule: `Host(\`app.example.com\`) && !HeaderRegexp(\`${RELAY_HEADER}\`, \`.\`)`,
      service: 'relay-a',
      middlewares: ['relay-mark'],
      entryPoints: ['websecure'],
      tls: { certResolver: 'le' },
    });
    assert.deepEqual(
      out.diagnostics.map((d) => `${d.source}: ${d.message}`),
      [
        'fleet node c: 1 host name belongs to containers on fleet node c, which sets no fleet.relayUrl: not served here',
      ],
    );
    assert.deepEqual(out.state?.details, { node: 'b', relayed: 1 });
  });

  test('a corrupt cache is a cold start, never a failure', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const dir = tempDir('berth-fleet-provider-');
    writeFileSync(join(dir, 'fleet-claims.json'), '{"version":1,"claims":[{"key":');
    const b = claims('b', 'fp2:', dir, false);
    assert.deepEqual(await b.c.load(), []);
    assert.equal(b.c.held().size, 0);
    assert.ok(
      b.lines.some((l) => l.includes('claims cache is not JSON')),
      b.lines.join('\n'),
    );
    writeFileSync(
      join(dir, 'fleet-claims.json'),
      JSON.stringify({
        version: 1,
        claims: [
          { key: 'host ok.example.com', node: 'a', daemon: 'd', container: 'c', containerId: 'i', since: 1 },
          { key: 'host bad.example.com', node: 'a' },
          'x',
        ],
        refusals: { a: [{ key: 1 }] },
        relays: { a: 7 },
      }),
    );
    const again = claims('b', 'fp2:', dir, false);
    await again.c.load();
    assert.deepEqual([...again.c.held().keys()], ['host ok.example.com'], 'the well-formed claim is kept');
    assert.equal(again.c.relays().size, 0);
  });
});
