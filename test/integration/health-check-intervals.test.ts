/**
 * `healthCheck.unhealthyInterval` through a berth process: while a server is down it is probed at
 * `unhealthyInterval`, not at `interval`. With `interval` at an hour, every probe after the first
 * comes from `unhealthyInterval`, so the test counts probes (events) instead of timing them: a
 * service with the same down server and no `unhealthyInterval` is probed once in that window.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

describe('healthCheck.unhealthyInterval', { timeout: 60_000 }, () => {
  let berth: BerthProcess | undefined;
  let upstream: Upstream | undefined;
  /** A server that is always down, beside `upstream` in the `mixed` service. */
  let down: Upstream | undefined;
  let downProbes = 0;
  let web = 0;
  let healthy = false;
  /** Health probes received, per path. */
  const probes: Record<string, number> = {};

  before(async () => {
    upstream = await startUpstream((req, res) => {
      const path = req.url ?? '/';
      if (req.headers['user-agent'] === 'berth-healthcheck') {
        probes[path] = (probes[path] ?? 0) + 1;
        res.writeHead(healthy ? 200 : 503).end();
        return;
      }
      res.writeHead(200).end('served');
    });
    down = await startUpstream((req, res) => {
      if (req.headers['user-agent'] === 'berth-healthcheck') downProbes++;
      res.writeHead(503).end();
    });
    const dir = tempDir('berth-health-intervals-');
    const dyn = join(dir, 'dynamic.yaml');
    writeFileSync(
      dyn,
      stringify({
        http: {
          routers: {
            fast: { rule: 'Host(`fast.test`)', service: 'fast' },
            slow: { rule: 'Host(`slow.test`)', service: 'slow' },
            mixed: { rule: 'Host(`mixed.test`)', service: 'mixed' },
          },
          services: {
            fast: {
              loadBalancer: {
                servers: [{ url: upstream.url }],
                healthCheck: { path: '/fast', interval: '1h', unhealthyInterval: '100ms', timeout: '5s' },
              },
            },
            slow: {
              loadBalancer: {
                servers: [{ url: upstream.url }],
                healthCheck: { path: '/slow', interval: '1h', timeout: '5s' },
              },
            },
            mixed: {
              loadBalancer: {
                servers: [{ url: upstream.url }, { url: down.url }],
                healthCheck: { path: '/mixed', interval: '1h', unhealthyInterval: '100ms', timeout: '5s' },
              },
            },
          },
        },
      }),
    );
    web = await freePort();
    berth = await startBerth({
      dir,
      config: {
        entryPoints: { web: { address: `127.0.0.1:${web}` } },
        providers: { file: { filename: dyn, watch: false } },
      },
      timeoutMs: 60_000,
    });
  });

  after(async () => {
    await berth?.stop();
    await upstream?.close();
    await down?.close();
  });

  test('a down server is probed again and again at unhealthyInterval; without it, only once in the same window', async () => {
    await waitUntil(
      () => (probes['/fast'] ?? 0) >= 5 && (probes['/slow'] ?? 0) >= 1,
      'five probes of the down server by the service with unhealthyInterval',
      30_000,
    );
    assert.equal(probes['/slow'], 1, 'interval (1h) alone: the first probe only');
    assert.equal((await get(web, 'fast.test')).status, 503, 'no healthy server');
  });

  test('back up: the next unhealthyInterval probe finds it, the service without it keeps it down', async () => {
    const before = probes['/fast'] ?? 0;
    healthy = true;
    await waitUntil(
      async () => (await get(web, 'fast.test')).status === 200,
      'the recovered server to be used again',
      30_000,
    );
    assert.ok((probes['/fast'] ?? 0) > before, 'recovery was seen by a probe');
    assert.equal((await get(web, 'slow.test')).status, 503, 'the other service has not probed since');
    assert.equal(probes['/slow'], 1);
  });

  test('in one service, only the down server is probed at unhealthyInterval; the healthy one keeps interval', async () => {
    healthy = true;
    await waitUntil(
      async () => (await get(web, 'mixed.test')).status === 200,
      'the mixed service to find its healthy server',
      30_000,
    );
    const [healthyProbes, start] = [probes['/mixed'], downProbes];
    await waitUntil(() => downProbes >= start + 5, 'five more probes of the down server', 30_000);
    assert.equal(probes['/mixed'], healthyProbes, 'the healthy server is not probed again before interval (1h)');
    assert.equal((await get(web, 'mixed.test')).body, 'served', 'traffic goes to the healthy server');
  });
});
