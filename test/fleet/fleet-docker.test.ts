/**
 * Claims and dynamic ports across a fleet, end to end: a real redis-server, two real dockerd (one
 * per berth host, each host sees only its own), two berth processes with the same `fleet.redis`.
 * The container created first (on host A) keeps its host name on both hosts — host B refuses its
 * own later claimant and relays the name to A — across restarts of either host; a rediacc
 * `tcp_ports` service gets the same public port on both; a Redis outage changes nothing that
 * serves, and what was claimed meanwhile is reconciled when Redis is back, the fleet's answer
 * winning.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { hasTool, needTools, requireIntegration } from '../helpers/tools.ts';
import { startDockerds, randomLoopback, type Dockerd, type DockerdFleet } from '../helpers/dockerd.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

/** GET through berth with an explicit Host header; status 0 when the connection fails. */
function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    idleTimeout(req, 30_000, `GET / for ${host} on ${port}`);
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/** A plain HTTP/1.0 GET over raw TCP (through a dynamic port); the body. */
function overTcp(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port }, () => s.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    idleTimeout(s, 30_000, `HTTP/1.0 over TCP on ${ip}:${port}`);
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (data += c));
    s.on('end', () => resolve(data.slice(data.indexOf('\r\n\r\n') + 4).trim()));
    s.on('error', reject);
  });
}

/** Traefik labels routing `Host(host)` on `web` to the container's own httpd. */
function hostLabels(router: string, host: string, ip: string, port: number, repo: string): Record<string, string> {
  return {
    'traefik.enable': 'true',
    [`traefik.http.routers.${router}.rule`]: `Host(\`${host}\`)`,
    [`traefik.http.routers.${router}.entrypoints`]: 'web',
    [`traefik.http.routers.${router}.service`]: router,
    [`traefik.http.services.${router}.loadbalancer.server.port`]: String(port),
    'rediacc.service_ip': ip,
    'rediacc.repo_name': repo,
  };
}

interface Diag {
  level: string;
  source: string;
  element?: string;
  message: string;
}
interface Routes {
  http: { name: string; servers: unknown }[];
  diagnostics: Diag[];
}
interface PortRow {
  key: string;
  protocol: string;
  port: number;
  active: boolean;
  source?: string;
}
interface Health {
  providers: Record<string, { status: string }>;
  fleet?: {
    connected: boolean;
    claims?: { held: number; pending: number; others: number };
    ports?: { fleet: number; pending: number };
  };
}

/** One berth host of the test fleet. */
interface Host {
  readonly node: string;
  readonly daemon: Dockerd;
  readonly web: number;
  /** Where its dynamic ports listen. */
  readonly bind: string;
  readonly dir: string;
  readonly config: Record<string, unknown>;
  berth?: BerthProcess;
}

const available = hasTool('dockerd') && hasTool('docker') && hasTool('busybox') && hasTool('redis-server');

describe('claims and dynamic ports across a fleet of two berth hosts', { concurrency: false, timeout: 300_000 }, () => {
  let redis: RedisProcess | undefined;
  let dockerds: DockerdFleet | undefined;
  let a: Host;
  let b: Host;
  const range = (() => {
    const from = 20000 + Math.floor(Math.random() * 9000);
    return { from, to: from + 3 };
  })();

  async function boot(h: Host): Promise<BerthProcess> {
    await h.berth?.stop();
    h.berth = await startBerth({ dir: h.dir, config: h.config });
    await waitUntil(
      async () => (await h.berth!.api<Health>('/health')).providers['docker']?.status === 'ok',
      `docker provider of ${h.node}`,
    );
    return h.berth;
  }

  function host(node: string, daemon: Dockerd, web: number, redisUrl: string): Host {
    const bind = randomLoopback();
    return {
      node,
      daemon,
      web,
      bind,
      dir: tempDir(`berth-fleet-docker-${node}-`),
      config: {
        entryPoints: { web: { address: `127.0.0.1:${web}` } },
        providers: { docker: { endpoints: [daemon.endpoint], exposedByDefault: false } },
        edge: {
          machineName: `server-${node}`,
          baseDomain: 'example.com',
          bindAddress: bind,
          dynamicPorts: `${range.from}-${range.to}`,
        },
        // A short sync interval keeps the test fast; notifications make most changes immediate anyway.
        fleet: { redis: redisUrl, node, syncInterval: '300ms', relayUrl: `http://127.0.0.1:${web}` },
        log: { level: 'info' },
      },
    };
  }

  /** `host`'s body through `h` once it answers 200. */
  async function served(h: Host, name: string, want: string, samples: string[] = []): Promise<void> {
    let last = '';
    await waitUntil(
      async () => {
        const r = await get(h.web, name);
        last = `${r.status} ${r.body}`;
        samples.push(last);
        return r.status === 200 && r.body === want;
      },
      `${name} served by ${want} through ${h.node}`,
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message} (last answer: ${last})`);
    });
  }

  async function diagnostics(h: Host): Promise<Diag[]> {
    return (await h.berth!.api<Routes>('/routes.json')).diagnostics;
  }

  before(async () => {
    if (!available) {
      if (requireIntegration) throw new Error('dockerd, docker, busybox and redis-server are required');
      return;
    }
    redis = await startRedis();
    dockerds = await startDockerds(2);
    const [da, db] = dockerds.daemons as [Dockerd, Dockerd];
    a = host('a', da, await freePort(), redis.url);
    b = host('b', db, await freePort(), redis.url);
    // The owner first, on A; the later claimant on B.
    for (const [h, name, repo] of [
      [a, 'owner', 'alpha'],
      [b, 'squatter', 'beta'],
    ] as const) {
      const ip = randomLoopback();
      const port = await freePort(ip);
      await h.daemon.runHttpd({ name, ip, port, labels: hostLabels(name, 'app.fleet.test', ip, port, repo) });
    }
  });

  after(async () => {
    await Promise.all([a?.berth?.stop(), b?.berth?.stop()]);
    await dockerds?.stop();
    await redis?.kill();
  });

  const ready = (t: TestContext): boolean =>
    needTools(t, 'dockerd', 'docker', 'busybox', 'redis-server') && dockerds !== undefined;

  test('both hosts serve the container created first, and both report the refused one', async (t) => {
    if (!ready(t)) return;
    await boot(a);
    await boot(b);
    const samples: string[] = [];
    await served(a, 'app.fleet.test', 'owner', samples);
    await served(b, 'app.fleet.test', 'owner', samples);
    assert.deepEqual(
      samples.filter((s) => s.includes('squatter')),
      [],
      'the later claimant is never served',
    );

    // B refuses its own claimant: the name belongs to A's container, on fleet node a.
    await waitUntil(
      async () =>
        (await diagnostics(b)).some(
          (d) =>
            d.level === 'error' &&
            d.source.includes('"squatter"') &&
            new RegExp(
              `^host app\\.fleet\\.test belongs to container "owner" \\(daemon ${a.daemon.id}@a, repository alpha, claimed since `,
            ).test(d.message),
        ),
      'the refusal on B',
    );
    // A reports it too, though it cannot see daemon B.
    await waitUntil(
      async () =>
        (await diagnostics(a)).some(
          (d) =>
            d.level === 'warning' &&
            d.source === `container "squatter" on daemon ${b.daemon.id} of fleet node b` &&
            d.element === 'http.routers.squatter' &&
            /belongs to container "owner"/.test(d.message),
        ),
      'the refusal reported on A',
    );
    // B serves the name through a relay router of the fleet provider, to A's relay URL.
    const routes = await b.berth!.api<Routes>('/routes.json');
    const relay = routes.http.find((r) => r.name.startsWith('relay-app-fleet-test-') && r.name.endsWith('@fleet'));
    assert.ok(relay, JSON.stringify(routes.http.map((r) => r.name)));
    assert.match(JSON.stringify(relay.servers), new RegExp(`http://127\\.0\\.0\\.1:${a.web}`));
    const health = await b.berth!.api<Health>('/health');
    assert.equal(health.fleet?.connected, true);
    assert.ok((health.fleet?.claims?.others ?? 0) >= 1, JSON.stringify(health.fleet));
    assert.ok(((await a.berth!.api<Health>('/health')).fleet?.claims?.held ?? 0) >= 1);
  });

  test('a restart of either host changes nothing', async (t) => {
    if (!ready(t)) return;
    for (const h of [b, a, b]) {
      await boot(h);
      const samples: string[] = [];
      await served(a, 'app.fleet.test', 'owner', samples);
      await served(b, 'app.fleet.test', 'owner', samples);
      assert.deepEqual(
        samples.filter((s) => s.includes('squatter')),
        [],
        `after restarting ${h.node}: the later claimant is never served`,
      );
      await waitUntil(
        async () =>
          (await diagnostics(b)).some(
            (d) => d.source.includes('"squatter"') && /belongs to container "owner"/.test(d.message),
          ),
        `the refusal on B after restarting ${h.node}`,
      );
      await waitUntil(
        async () =>
          (await diagnostics(a)).some((d) => d.source.includes('"squatter"') && d.source.includes('fleet node b')),
        `the refusal on A after restarting ${h.node}`,
      );
    }
  });

  test('a rediacc tcp_ports service gets the same public port on both hosts', async (t) => {
    if (!ready(t)) return;
    const ips = [randomLoopback(), randomLoopback()];
    const port = await freePort(ips[0]);
    // A first serves another service, which takes a port of the range; B has never seen it.
    const other = randomLoopback();
    await a.daemon.runHttpd({
      name: 'mail',
      ip: other,
      port,
      labels: {
        'rediacc.service_name': 'mail',
        'rediacc.repo_name': 'alpha',
        'rediacc.service_ip': other,
        'rediacc.service_port': '81',
        'rediacc.tcp_ports': `81,${port}`,
      },
    });
    const rows = async (h: Host): Promise<PortRow[]> =>
      (await h.berth!.api<{ allocations: PortRow[] }>('/ports')).allocations;
    await waitUntil(
      async () =>
        (await rows(a)).some((r) => r.key === `mail-alpha-tcp-${port}@docker` && r.active && r.source === 'fleet'),
      'mail on A',
    );
    const key = `db-data-tcp-${port}@docker`;
    for (const [h, ip] of [
      [a, ips[0]!],
      [b, ips[1]!],
    ] as const) {
      await h.daemon.runHttpd({
        name: `db-${h.node}`,
        ip,
        port,
        labels: {
          'rediacc.service_name': 'db',
          'rediacc.repo_name': 'data',
          'rediacc.service_ip': ip,
          'rediacc.service_port': '81',
          'rediacc.tcp_ports': `81,${port}`,
        },
      });
    }
    const found: Record<string, PortRow> = {};
    for (const h of [a, b]) {
      await waitUntil(async () => {
        const row = (await rows(h)).find((r) => r.key === key && r.active && r.source === 'fleet');
        if (row) found[h.node] = row;
        return row !== undefined;
      }, `${key} confirmed by the fleet on ${h.node}`);
    }
    assert.equal(found['b']!.port, found['a']!.port, 'the same public port on both hosts');
    const mail = (await rows(b)).find((r) => r.key === `mail-alpha-tcp-${port}@docker`);
    assert.equal(mail?.active, false, "B knows the port of A's other service, and keeps it free");
    assert.notEqual(mail?.port, found['b']!.port);
    for (const h of [a, b])
      await waitUntil(
        async () => (await overTcp(h.bind, found[h.node]!.port).catch(() => '')) === `db-${h.node}`,
        `db on ${h.node} through its public port`,
      );
  });

  test("Redis killed: both keep serving; claims made meanwhile are reconciled when it is back, the fleet's answer winning", async (t) => {
    if (!ready(t)) return;
    await redis!.kill();
    for (const h of [a, b])
      await waitUntil(
        async () => (await h.berth!.api<Health>('/health')).fleet?.connected === false,
        `${h.node} sees Redis gone`,
      );
    await served(a, 'app.fleet.test', 'owner');
    await served(b, 'app.fleet.test', 'owner');

    // During the outage: a new name on B alone, and one name claimed on both (A's container first).
    const run = async (h: Host, name: string, hostName: string): Promise<void> => {
      const ip = randomLoopback();
      const port = await freePort(ip);
      await h.daemon.runHttpd({ name, ip, port, labels: hostLabels(name, hostName, ip, port, name) });
    };
    await run(b, 'late', 'late.fleet.test');
    await run(a, 'dup-a', 'dup.fleet.test');
    await run(b, 'dup-b', 'dup.fleet.test');
    await served(b, 'late.fleet.test', 'late');
    await served(a, 'dup.fleet.test', 'dup-a');
    await served(b, 'dup.fleet.test', 'dup-b');
    assert.equal((await get(a.web, 'late.fleet.test')).status, 404, 'A cannot know of it yet');
    await waitUntil(
      async () => ((await b.berth!.api<Health>('/health')).fleet?.claims?.pending ?? 0) >= 2,
      "B's claims pending",
    );

    // Redis is back, empty: every host puts its claims again; the earliest container wins the contested name.
    await redis!.restart();
    await served(a, 'late.fleet.test', 'late');
    await served(b, 'dup.fleet.test', 'dup-a');
    await served(a, 'dup.fleet.test', 'dup-a');
    await served(b, 'app.fleet.test', 'owner');
    await waitUntil(
      async () =>
        (await diagnostics(b)).some(
          (d) => d.source.includes('"dup-b"') && /^host dup\.fleet\.test belongs to container "dup-a"/.test(d.message),
        ),
      'dup-b refused on B',
    );
    await waitUntil(
      async () => (await diagnostics(a)).some((d) => d.source.includes('"dup-b"') && d.source.includes('fleet node b')),
      'dup-b reported on A',
    );
    assert.ok(
      b.berth!.logs.some((l) => l.includes('claim lost to the fleet: host dup.fleet.test')),
      'the loser is logged',
    );
    await waitUntil(async () => {
      const f = (await b.berth!.api<Health>('/health')).fleet;
      return f?.connected === true && f.claims?.pending === 0;
    }, 'nothing pending on B');
  });
});
