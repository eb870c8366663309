/**
 * Host claims between repositories, end to end: a berth process, two real dockerd (one per
 * repository), busybox httpd containers on loopback addresses claiming the same host. The
 * container created first keeps the host through berth restarts, daemon restarts and its own
 * restarts; the other is reported, never served; a removed owner, or one stopped longer than
 * `edge.claimGracePeriod`, lets the other claimant in.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasTool, needTools } from '../helpers/tools.ts';
import { startDockerds, processesUnder, randomLoopback, type Dockerd, type DockerdFleet } from '../helpers/dockerd.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout, timeoutSignal } from '../helpers/with-timeout.ts';

/** GET through berth with an explicit Host header. */
function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
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

/** Traefik labels routing `Host(host)` to the container's own httpd, in repository `repo`. */
function claimLabels(router: string, host: string, ip: string, port: number, repo: string): Record<string, string> {
  return {
    'traefik.enable': 'true',
    [`traefik.http.routers.${router}.rule`]: `Host(\`${host}\`)`,
    [`traefik.http.routers.${router}.service`]: router,
    [`traefik.http.services.${router}.loadbalancer.server.port`]: String(port),
    'rediacc.service_ip': ip,
    'rediacc.repo_name': repo,
  };
}

interface Routes {
  http: { name: string; rule: string }[];
  diagnostics: { level: string; source: string; element?: string; message: string }[];
}
interface Health {
  providers: Record<string, { status: string; refusedClaims?: Record<string, number> }>;
}

/** The pairs of claimants: owner on daemon A (created first), the other on daemon B. */
const PAIRS = {
  app: { host: 'app.claims.test', owner: 'owner', other: 'squatter' },
  gone: { host: 'gone.claims.test', owner: 'owner-2', other: 'squatter-2' },
  grace: { host: 'grace.claims.test', owner: 'owner-3', other: 'squatter-3' },
} as const;
type Pair = (typeof PAIRS)[keyof typeof PAIRS];

const available = hasTool('dockerd') && hasTool('docker') && hasTool('busybox');

describe('host claims between repositories through a berth process', { concurrency: false }, () => {
  let fleet: DockerdFleet | undefined;
  let a: Dockerd;
  let b: Dockerd;
  let berth: BerthProcess | undefined;
  let web = 0;
  let apiPort = 0;
  const dir = tempDir('berth-claims-');

  /** (Re)starts berth on the same state directory; waits until the Docker provider has published. */
  async function boot(grace = '10m', healthy: readonly string[] = ['ok']): Promise<BerthProcess> {
    await berth?.stop();
    berth = await startBerth({
      dir,
      config: {
        api: { listen: `127.0.0.1:${apiPort}` },
        entryPoints: { web: { address: `127.0.0.1:${web}` } },
        providers: { docker: { endpoints: [fleet!.glob], exposedByDefault: false } },
        edge: { machineName: 'server-1', baseDomain: 'example.com', claimGracePeriod: grace },
        metrics: { prometheus: { manualRouting: true } },
        log: { level: 'warn' },
      },
    });
    await waitUntil(
      async () => healthy.includes((await berth!.api<Health>('/health')).providers.docker?.status ?? ''),
      'docker provider in /health',
    );
    return berth;
  }

  /** The diagnostic on the refused router of `pair`, once berth reports it. */
  async function refusal(pair: Pair): Promise<Routes['diagnostics'][number]> {
    let found: Routes['diagnostics'][number] | undefined;
    await waitUntil(async () => {
      const routes = await berth!.api<Routes>('/routes.json');
      found = routes.diagnostics.find((d) => d.source.includes(`"${pair.other}"`) && d.message.includes(pair.host));
      return found !== undefined;
    }, `the refusal of ${pair.other}`);
    return found!;
  }

  /** Waits until `host` answers 200 and returns the first 200 body; every sample is kept. */
  async function served(host: string, samples: string[] = []): Promise<string> {
    let body = '';
    await waitUntil(
      async () => {
        const r = await get(web, host);
        samples.push(`${r.status} ${r.body}`);
        if (r.status === 200) body = r.body;
        return r.status === 200;
      },
      `${host} served`,
      20_000,
    );
    return body;
  }

  /** Samples `pair.host` until `op` has finished and the owner serves again. */
  async function sampleThrough(pair: Pair, op: () => Promise<void>): Promise<string[]> {
    const samples: string[] = [];
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const r = await get(web, pair.host).catch((err: Error) => ({ status: 0, body: err.message }));
        samples.push(`${r.status} ${r.body}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    })();
    try {
      await op();
    } finally {
      done = true;
      await sampler;
    }
    await waitUntil(
      async () => {
        const r = await get(web, pair.host);
        samples.push(`${r.status} ${r.body}`);
        return r.body === pair.owner;
      },
      `${pair.owner} serving ${pair.host} again`,
      20_000,
    );
    return samples;
  }

  function neverOther(pair: Pair, samples: readonly string[]): void {
    assert.ok(samples.length > 0);
    assert.deepEqual(
      samples.filter((s) => s.includes(pair.other)),
      [],
      `${pair.other} was never served`,
    );
  }

  before(async () => {
    if (!available) return;
    fleet = await startDockerds(2);
    [a, b] = fleet.daemons as [Dockerd, Dockerd];
    web = await freePort();
    apiPort = await freePort();
    // Owners first, on daemon A; then the other claimants, on daemon B.
    for (const [daemon, role, repo] of [
      [a, 'owner', 'alpha'],
      [b, 'other', 'beta'],
    ] as const) {
      for (const p of Object.values(PAIRS)) {
        const ip = randomLoopback();
        const port = await freePort(ip);
        await daemon.runHttpd({ name: p[role], ip, port, labels: claimLabels(p[role], p.host, ip, port, repo) });
      }
    }
    // A fork written `repo:tag` only (no is_fork/fork_tag) on daemon B, its parent on daemon A.
    for (const [daemon, name, repo] of [
      [a, 'shop-web', 'shop'],
      [b, 'shop-web-preview', 'shop:preview'],
    ] as const) {
      const ip = randomLoopback();
      const port = await freePort(ip);
      await daemon.runHttpd({
        name,
        ip,
        port,
        labels: {
          'rediacc.service_name': 'web',
          'rediacc.repo_name': repo,
          'rediacc.service_ip': ip,
          'rediacc.service_port': String(port),
        },
      });
    }
  });

  after(async () => {
    await berth?.stop();
    if (fleet) {
      await fleet.stop();
      assert.deepEqual(await processesUnder(fleet.dir), []);
    }
  });

  function ready(t: TestContext): boolean {
    return needTools(t, 'dockerd', 'docker', 'busybox') && fleet !== undefined;
  }

  test('8 restarts of berth: the earlier-created container keeps the host every time; the other is reported, never served', async (t) => {
    if (!ready(t)) return;
    const firstBodies: string[] = [];
    const ledger = join(dir, 'state', 'claims.json');
    for (let i = 1; i <= 8; i++) {
      // Odd starts without the ledger (creation order alone decides), even ones with it, one with a corrupt one.
      if (i % 2 === 1) rmSync(ledger, { force: true });
      if (i === 6) writeFileSync(ledger, '{"version":1,"claims":[{"key":"host app.cl');
      await boot();
      if (i === 6) {
        assert.ok(
          berth!.logs.some((l) => l.includes('claim ledger is corrupt: moved aside')),
          'the corrupt ledger is reported',
        );
        assert.equal(
          readdirSync(join(dir, 'state')).filter((f) => f.startsWith('claims.json.corrupt-')).length,
          1,
          'and kept aside',
        );
      }
      const samples: string[] = [];
      firstBodies.push(await served(PAIRS.app.host, samples));
      neverOther(PAIRS.app, samples);
      const d = await refusal(PAIRS.app);
      assert.equal(d.level, 'error');
      assert.match(
        d.message,
        new RegExp(
          `^host app\\.claims\\.test belongs to container "owner" \\(daemon ${a.id}, repository alpha, claimed since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); one repository cannot take another's traffic`,
        ),
      );
      assert.match(d.source, new RegExp(`container "squatter" on daemon ${b.id}`));
    }
    assert.deepEqual(firstBodies, Array(8).fill('owner'));
    const routes = await berth!.api<Routes>('/routes.json');
    assert.ok(
      !routes.http.some((r) => r.name.startsWith('squatter')),
      'the refused router is not in the routing table',
    );
  });

  test('the refusal shows in /explain and in the berth_claims_refused gauge', async (t) => {
    if (!ready(t) || !berth) return;
    const ex = await berth.api<{ problems: string[] }>(`/explain?url=${encodeURIComponent('http://app.claims.test/')}`);
    assert.ok(
      ex.problems.some((p) => /belongs to container "owner"/.test(p)),
      ex.problems.join('\n'),
    );
    const metrics = await (
      await fetch(`${berth.apiUrl}/metrics`, { signal: timeoutSignal(15_000, 'berth /metrics') })
    ).text();
    assert.match(
      metrics,
      new RegExp(`^berth_claims_refused\\{provider="docker",daemon="${b.id}"\\} 3$`, 'm'),
      'three hosts refused to daemon B',
    );
    assert.match(metrics, new RegExp(`^berth_claims_refused\\{provider="docker",daemon="${a.id}"\\} 0$`, 'm'));
    const health = await berth.api<Health>('/health');
    assert.equal(health.providers.docker?.refusedClaims?.[b.id], 3);
  });

  test("a fork named repo:tag is served under its parent's wildcard, beside the parent", async (t) => {
    if (!ready(t) || !berth) return;
    assert.equal(await served('web.shop.server-1.example.com'), 'shop-web');
    assert.equal(await served('web-fork-preview.shop.server-1.example.com'), 'shop-web-preview');
    const routes = await berth.api<Routes>('/routes.json');
    assert.deepEqual(
      routes.diagnostics.filter((d) => /shop-web/.test(d.source)),
      [],
      'no collision between fork and parent',
    );
  });

  test('the owner container restarts (docker restart, stop + start, and a berth restart while it is stopped): the host never moves', async (t) => {
    if (!ready(t)) return;
    neverOther(
      PAIRS.app,
      await sampleThrough(PAIRS.app, () => a.docker(['restart', '-t', '5', 'owner']).then(() => undefined)),
    );
    neverOther(
      PAIRS.app,
      await sampleThrough(PAIRS.app, async () => {
        await a.stopContainer('owner');
        await waitUntil(
          async () => (await get(web, PAIRS.app.host)).status === 404,
          'the stopped owner no longer served',
        );
        assert.match((await refusal(PAIRS.app)).message, /belongs to container "owner"/);
        await a.startContainer('owner');
      }),
    );
    await a.stopContainer('owner');
    await waitUntil(async () => (await get(web, PAIRS.app.host)).status === 404, 'the stopped owner no longer served');
    await boot();
    // Creation order alone would now give the host to the running squatter: the ledger keeps it.
    assert.match((await refusal(PAIRS.app)).message, /belongs to container "owner"/);
    assert.equal((await get(web, PAIRS.app.host)).status, 404);
    neverOther(PAIRS.app, await sampleThrough(PAIRS.app, () => a.startContainer('owner')));
  });

  test("daemon restarts (the owner's, the other's, and a berth start while the owner's daemon is down): the host never moves", async (t) => {
    if (!ready(t)) return;
    neverOther(
      PAIRS.app,
      await sampleThrough(PAIRS.app, async () => {
        await a.kill();
        await waitUntil(
          async () => (await berth!.api<Health>('/health')).providers.docker?.status === 'degraded',
          'daemon A down',
        );
        assert.equal((await get(web, PAIRS.app.host)).body, 'owner', 'a down daemon keeps its routes');
        await a.restart();
        await waitUntil(
          async () => (await berth!.api<Health>('/health')).providers.docker?.status === 'ok',
          'daemon A back',
        );
      }),
    );
    neverOther(
      PAIRS.app,
      await sampleThrough(PAIRS.app, async () => {
        await b.kill();
        await b.restart();
        await waitUntil(
          async () => (await berth!.api<Health>('/health')).providers.docker?.status === 'ok',
          'daemon B back',
        );
      }),
    );
    await refusal(PAIRS.app);
    // berth starts while the owner's daemon is down (its socket is gone): the owner is unknown, its claim is not.
    await a.kill();
    await boot('10m', ['ok', 'degraded', 'down']);
    assert.match((await refusal(PAIRS.app)).message, /belongs to container "owner"/);
    assert.equal((await get(web, PAIRS.app.host)).status, 404);
    neverOther(PAIRS.app, await sampleThrough(PAIRS.app, () => a.restart()));
  });

  test('owner removed: the other claimant gets the host', async (t) => {
    if (!ready(t)) return;
    assert.equal(await served(PAIRS.gone.host), 'owner-2');
    await refusal(PAIRS.gone);
    await a.removeContainer('owner-2');
    await waitUntil(async () => (await get(web, PAIRS.gone.host)).body === 'squatter-2', 'squatter-2 to get the host');
  });

  test('owner stopped longer than the grace period: released to the other claimant, which then keeps it', async (t) => {
    if (!ready(t)) return;
    await boot('1s');
    assert.equal(await served(PAIRS.grace.host), 'owner-3');
    await a.stopContainer('owner-3');
    await waitUntil(
      async () => (await get(web, PAIRS.grace.host)).body === 'squatter-3',
      'squatter-3 to get the host after the grace period',
    );
    await a.startContainer('owner-3');
    await waitUntil(async () => {
      const routes = await berth!.api<Routes>('/routes.json');
      return routes.diagnostics.some(
        (d) => d.source.includes('"owner-3"') && /belongs to container "squatter-3"/.test(d.message),
      );
    }, 'owner-3 refused now');
    assert.equal((await get(web, PAIRS.grace.host)).body, 'squatter-3');
  });
});
