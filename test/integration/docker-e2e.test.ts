/**
 * End to end through a berth process: real dockerd daemons (one per repository, found through a
 * socket glob), busybox httpd containers on loopback addresses, requests to berth's web entrypoint.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { hasTool, needTools } from '../helpers/tools.ts';
import { startDockerds, processesUnder, randomLoopback, type Dockerd, type DockerdFleet } from '../helpers/dockerd.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

/** GET through berth with an explicit Host header. */
function get(port: number, host: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      res.on('error', reject);
    });
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

/** Traefik labels routing `Host(host)` to the container's own httpd (host network, loopback IP). */
function routeLabels(router: string, host: string, ip: string, port: number): Record<string, string> {
  return {
    'traefik.enable': 'true',
    [`traefik.http.routers.${router}.rule`]: `Host(\`${host}\`)`,
    [`traefik.http.routers.${router}.service`]: router,
    [`traefik.http.services.${router}.loadbalancer.server.port`]: String(port),
    'rediacc.service_ip': ip,
  };
}

interface Health {
  status: string;
  providers: Record<string, { status: string; details?: Record<string, { status: string }> }>;
}

const available = hasTool('dockerd') && hasTool('docker') && hasTool('busybox');

describe('berth with real Docker daemons', { concurrency: false }, () => {
  let fleet: DockerdFleet | undefined;
  let a: Dockerd;
  let b: Dockerd;
  let berth: BerthProcess | undefined;
  let web = 0;

  before(async () => {
    if (!available) return;
    fleet = await startDockerds(2);
    [a, b] = fleet.daemons as [Dockerd, Dockerd];
    web = await freePort();
    berth = await startBerth({
      config: {
        entryPoints: { web: { address: `127.0.0.1:${web}` } },
        providers: { docker: { endpoints: [fleet.glob], exposedByDefault: false } },
        edge: { machineName: 'server-1', baseDomain: 'example.com' },
        log: { level: 'warn' },
      },
    });
    await waitUntil(
      async () => (await berth!.api<Health>('/health')).providers.docker !== undefined,
      'docker provider in /health',
      5_000,
    ).catch(() => {
      throw new Error(
        'berth does not run the Docker provider for providers.docker (src/parts.ts must construct DockerProvider)',
      );
    });
    await waitUntil(
      async () => (await berth!.api<Health>('/health')).providers.docker?.status === 'ok',
      'docker provider ok in /health',
    );
  });

  after(async () => {
    await berth?.stop();
    if (fleet) {
      await fleet.stop();
      assert.deepEqual(await processesUnder(fleet.dir), []);
    }
  });

  function ready(t: TestContext): boolean {
    return needTools(t, 'dockerd', 'docker', 'busybox') && berth !== undefined;
  }

  test('a labelled container on each daemon is routable', async (t) => {
    if (!ready(t)) return;
    const ipA = randomLoopback();
    const ipB = randomLoopback();
    await a.runHttpd({
      name: 'site-a',
      ip: ipA,
      port: 8080,
      labels: routeLabels('site-a', 'a.example.test', ipA, 8080),
    });
    await b.runHttpd({
      name: 'site-b',
      ip: ipB,
      port: 8080,
      labels: routeLabels('site-b', 'b.example.test', ipB, 8080),
    });
    await waitUntil(async () => (await get(web, 'a.example.test')).status === 200, 'a.example.test routable');
    await waitUntil(async () => (await get(web, 'b.example.test')).status === 200, 'b.example.test routable');
    assert.equal((await get(web, 'a.example.test')).body, 'site-a');
    assert.equal((await get(web, 'b.example.test')).body, 'site-b');
    assert.equal((await get(web, 'nobody.example.test')).status, 404);
  });

  test('stopping a container removes its route, starting it restores it', async (t) => {
    if (!ready(t)) return;
    await b.stopContainer('site-b');
    await waitUntil(async () => (await get(web, 'b.example.test')).status === 404, 'b.example.test gone (404)');
    const t0 = Date.now();
    await b.startContainer('site-b');
    await waitUntil(async () => (await get(web, 'b.example.test')).status === 200, 'b.example.test back');
    t.diagnostic(`routable ${Date.now() - t0} ms after docker start was issued`);
    assert.equal((await get(web, 'b.example.test')).body, 'site-b');
  });

  test('replicas of one service are load-balanced', async (t) => {
    if (!ready(t)) return;
    for (const n of [1, 2]) {
      const ip = randomLoopback();
      await a.runHttpd({
        name: `replica-${n}`,
        ip,
        port: 8080,
        labels: routeLabels('replicas', 'replicas.example.test', ip, 8080),
      });
    }
    const seen = new Set<string>();
    await waitUntil(async () => {
      const r = await get(web, 'replicas.example.test');
      if (r.status === 200) seen.add(r.body);
      return seen.size === 2;
    }, 'both replicas to answer');
    assert.deepEqual([...seen].sort(), ['replica-1', 'replica-2']);
  });

  test('two containers defining one router differently are both dropped, with a diagnostic', async (t) => {
    if (!ready(t)) return;
    const ip1 = randomLoopback();
    const ip2 = randomLoopback();
    await a.runHttpd({
      name: 'clash-1',
      ip: ip1,
      port: 8080,
      labels: { ...routeLabels('clash', 'clash-one.example.test', ip1, 8080) },
    });
    await a.runHttpd({
      name: 'clash-2',
      ip: ip2,
      port: 8080,
      labels: { ...routeLabels('clash', 'clash-two.example.test', ip2, 8080) },
    });
    let routes: { http: { name: string }[]; diagnostics: { message: string; element?: string; source: string }[] } = {
      http: [],
      diagnostics: [],
    };
    await waitUntil(async () => {
      routes = await berth!.api('/routes.json');
      return routes.diagnostics.some((d) => /clash/.test(`${d.element ?? ''} ${d.message}`));
    }, 'a diagnostic about router clash');
    assert.ok(!routes.http.some((r) => r.name.startsWith('clash@')), 'the conflicting router is not served');
    assert.equal((await get(web, 'clash-one.example.test')).status, 404);
    assert.equal((await get(web, 'clash-two.example.test')).status, 404);
  });

  test('rediacc labels produce the auto-route {service}.{repo}.{machine}.{baseDomain}', async (t) => {
    if (!ready(t)) return;
    const ip = randomLoopback();
    await b.runHttpd({
      name: 'marketing-myapp',
      ip,
      port: 8080,
      labels: {
        'rediacc.service_name': 'myapp',
        'rediacc.repo_name': 'marketing',
        'rediacc.service_ip': ip,
        'rediacc.service_port': '8080',
      },
    });
    await waitUntil(
      async () => (await get(web, 'myapp.marketing.server-1.example.com')).status === 200,
      'auto-route routable',
    );
    assert.equal((await get(web, 'myapp.marketing.server-1.example.com')).body, 'marketing-myapp');
  });

  test('a daemon that goes down keeps its routes served and /health shows degraded', async (t) => {
    if (!ready(t)) return;
    await a.kill();
    await waitUntil(async () => (await berth!.api<Health>('/health')).status === 'degraded', '/health degraded');
    const health = await berth!.api<Health>('/health');
    assert.equal(health.providers.docker?.details?.[a.id]?.status, 'down');
    assert.equal(health.providers.docker?.details?.[b.id]?.status, 'ok');
    // The containers of the down daemon still run (live-restore) and stay routable.
    const r = await get(web, 'a.example.test');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'site-a');
    await a.restart();
    await waitUntil(
      async () => (await berth!.api<Health>('/health')).providers.docker?.status === 'ok',
      'docker provider ok again',
    );
    assert.equal((await get(web, 'a.example.test')).status, 200);
  });
});
