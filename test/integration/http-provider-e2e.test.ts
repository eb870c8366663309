/**
 * Seed 004 end to end: berth polls a control plane (`providers.http` with a Bearer token) for the
 * routing table of seed 004 and routes `Host(a) || Host(b)` to real upstreams. When the control plane
 * goes down, answers 500 or answers garbage, every route keeps serving and `/health` names the
 * problem; when it recovers with a changed table, the next poll applies it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { StubControlPlane } from '../providers/http/stub-control-plane.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

const SEED = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/dynamic/seed-004.json'), 'utf8')) as {
  http: {
    routers: Record<string, { rule: string; service: string }>;
    services: Record<string, { loadBalancer: { servers: { url: string }[] } }>;
  };
};
const APP = '83a643d8-1f0c-4f6e-9a57-2b1d7c3e9a10';
const SHOP = '5c0e2b7a-9d41-4b8e-8f23-6a1e0d4c7b55';
const HOSTS = ['my-app.route.example.test', 'custom.domain.test', 'shop.route.example.test', 'www.shop.test'] as const;

/** An HTTPS request to berth with SNI and Host set to `host`; resolves status and body. */
function get(port: number, host: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, servername: host, path, headers: { host }, rejectUnauthorized: false, agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

/** An upstream on `host` (the seed's worker addresses are 127.0.0.2-4) that answers with its name. */
async function named(name: string, host: string): Promise<Upstream> {
  return startUpstream(
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(name);
    },
    { host },
  );
}

interface Health {
  status: string;
  providers: Record<string, { status: string; error?: string }>;
}

describe('seed 004: HTTP provider polling a control plane behind a Bearer token', { timeout: 120_000 }, () => {
  const token = 'f3b1c0ffee0123456789abcdef';
  const stub = new StubControlPlane(token);
  let berth: BerthProcess;
  let port: number;
  let app: Upstream, shop1: Upstream, shop2: Upstream, next: Upstream;
  let seedBody: string;

  /** The seed's JSON with the workers' ports replaced by the real upstreams' ones. */
  const seedConfig = (): typeof SEED => {
    const cfg = structuredClone(SEED);
    cfg.http.services[APP]!.loadBalancer.servers = [{ url: app.url }];
    cfg.http.services[SHOP]!.loadBalancer.servers = [{ url: shop1.url }, { url: shop2.url }];
    return cfg;
  };

  /** Every seed host answers through berth with the right upstream. */
  const assertAllServe = async (why: string): Promise<void> => {
    for (const host of HOSTS) {
      const res = await get(port, host);
      assert.equal(res.status, 200, `${host} ${why}`);
      assert.match(res.body, host.includes('shop') ? /^shop[12]$/ : /^app$/, `${host} ${why}`);
    }
  };

  /** Waits until /health reports the http provider degraded with an error matching `error`. */
  const waitDegraded = async (error: RegExp): Promise<Health> => {
    let last: Health | undefined;
    await waitUntil(
      async () => {
        last = await berth.api<Health>('/health');
        const st = last.providers['http'];
        return last.status === 'degraded' && st?.status === 'degraded' && error.test(st.error ?? '');
      },
      `/health to report the http provider degraded with ${error} (last: ${JSON.stringify(last?.providers)})`,
    );
    return last!;
  };

  before(async () => {
    app = await named('app', '127.0.0.2');
    shop1 = await named('shop1', '127.0.0.3');
    shop2 = await named('shop2', '127.0.0.4');
    next = await named('next', '127.0.0.5');
    seedBody = JSON.stringify(seedConfig());
    stub.mode = { kind: 'config', body: seedBody };
    await stub.listen();
    port = await freePort();
    berth = await startBerth({
      config: {
        entryPoints: { websecure: { address: `127.0.0.1:${port}`, http: { tls: {} } } },
        providers: {
          http: {
            endpoint: stub.url,
            pollInterval: '200ms',
            pollTimeout: '1s',
            headers: { Authorization: `Bearer ${token}` },
          },
        },
      },
    });
    await waitUntil(async () => (await get(port, HOSTS[0])).status === 200, "the control plane's routes to be served");
  });

  after(async () => {
    const code = await berth?.stop();
    await stub.close();
    await Promise.all([app, shop1, shop2, next].map((u) => u?.close()));
    assert.equal(code, 0, 'berth exits 0 after SIGTERM');
  });

  test('routes Host(a) || Host(b) for both names of both apps; the token is sent; the shop load-balances', async () => {
    assert.equal(stub.requests[0]?.authorization, `Bearer ${token}`);
    await assertAllServe('is served');
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(port, 'www.shop.test')).body);
    assert.deepEqual([...seen].sort(), ['shop1', 'shop2'], 'both servers of the shop get requests');
    assert.equal((await get(port, 'unknown.route.example.test')).status, 404);
    const health = await berth.api<Health>('/health');
    assert.equal(health.providers['http']?.status, 'ok');
    assert.equal(health.status, 'ok');
  });

  test('control plane down, answering 500, answering garbage: every route keeps serving and /health says why', async () => {
    const cases: { desc: string; apply: () => Promise<void>; error: RegExp }[] = [
      {
        desc: 'down (connection refused)',
        // Right after a poll was answered, so no poll is cut in the middle (that would be a second kind of error).
        apply: async () => {
          const n = stub.requests.length;
          await stub.until(() => stub.requests.length > n, 'a poll');
          await new Promise((r) => setTimeout(r, 20));
          await stub.close();
        },
        error: /ECONNREFUSED/,
      },
      {
        desc: 'HTTP 500',
        apply: async () => {
          await stub.listen();
          stub.mode = { kind: 'status', status: 500 };
        },
        error: /500/,
      },
      {
        desc: 'garbage body',
        apply: async () => {
          stub.mode = { kind: 'raw', body: '<html>upstream gateway error{{{', contentType: 'application/json' };
        },
        error: /JSON syntax error/,
      },
    ];
    for (const c of cases) {
      // Back to a healthy state first, so each failure is a fresh change of state.
      if (stub.listening) {
        stub.mode = { kind: 'config', body: seedBody };
        await waitUntil(
          async () => (await berth.api<Health>('/health')).providers['http']?.status === 'ok',
          `recovery before "${c.desc}"`,
        );
      }
      await c.apply();
      const health = await waitDegraded(c.error);
      const requestsAtFailure = stub.requests.length;
      await assertAllServe(`keeps serving while the control plane is ${c.desc}`);
      assert.equal(health.providers['http']?.status, 'degraded', c.desc);
      if (stub.listening)
        await stub.until(() => stub.requests.length >= requestsAtFailure + 2, 'two more polls during the failure');
      else await new Promise((r) => setTimeout(r, 500));
      await assertAllServe(`still serves after more failed polls (${c.desc})`);
    }
    // Logged once per change of state, not once per failed poll.
    const failures = berth.logs.filter(
      (l) => l.includes('"provider":"http"') && l.includes('keeping the last good configuration'),
    );
    assert.equal(failures.length, cases.length, failures.join('\n'));
  });

  test('recovery with a changed table applies on the next poll', async () => {
    const changed = seedConfig();
    // A new app appears, and my-app moves to another worker.
    changed.http.routers['9f1e2d3c-new'] = {
      rule: 'Host(`new.route.example.test`) || Host(`new.custom.test`)',
      service: '9f1e2d3c-new',
    };
    changed.http.services['9f1e2d3c-new'] = { loadBalancer: { servers: [{ url: next.url }] } };
    changed.http.services[APP]!.loadBalancer.servers = [{ url: next.url }];
    stub.mode = { kind: 'config', body: JSON.stringify(changed) };
    await waitUntil(async () => (await get(port, 'new.custom.test')).status === 200, 'the new app to be served');
    for (const host of [
      'new.route.example.test',
      'new.custom.test',
      'my-app.route.example.test',
      'custom.domain.test',
    ]) {
      assert.equal((await get(port, host)).body, 'next', host);
    }
    assert.match((await get(port, 'shop.route.example.test')).body, /^shop[12]$/);
    await waitUntil(
      async () => (await berth.api<Health>('/health')).providers['http']?.status === 'ok',
      '/health to show the provider ok again',
    );
    const health = await berth.api<Health>('/health');
    assert.equal(health.status, 'ok');
    assert.equal(
      health.providers['http']?.error,
      undefined,
      'the error is cleared once the control plane answers again',
    );
  });
});
