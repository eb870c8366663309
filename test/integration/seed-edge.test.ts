/**
 * What the seed systems did that berth must do too, end to end through a berth process and real
 * dockerd containers (host network, loopback addresses): RProxy's ports opened while a container
 * asks for them (seed 001), rediacc's extra TCP ports on stable public ports from
 * `edge.dynamicPorts` (seed 000), plain HTTP where no certificate can exist, and a tunnel or CDN in
 * front whose trusted `X-Forwarded-Proto: https` is served instead of redirected (seed 002).
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { hasTool, needTools } from '../helpers/tools.ts';
import { randomLoopback, startDockerds, type Dockerd, type DockerdFleet } from '../helpers/dockerd.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

const available = hasTool('dockerd') && hasTool('docker') && hasTool('busybox');

interface Reply {
  status: number;
  location?: string | undefined;
  body: string;
}

/** A GET through berth with an explicit Host header, from `localAddress` (a client's own address). */
function get(
  ip: string,
  port: number,
  host: string,
  opts: { headers?: Record<string, string>; localAddress?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: ip,
        port,
        path: '/',
        headers: { host, ...opts.headers },
        agent: false,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: body.trim() }),
        );
        res.on('error', reject);
      },
    );
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP/1.0 exchange over a raw TCP connection (a TCP route to a container's httpd); the body. */
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

/** Whether something accepts TCP connections on ip:port. */
function listening(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A range of `n` ports from a random base, for `edge.dynamicPorts`. */
function randomRange(n: number): { from: number; to: number } {
  const from = 30000 + Math.floor(Math.random() * 20000);
  return { from, to: from + n - 1 };
}

interface Diag {
  level: string;
  source: string;
  element?: string;
  message: string;
}
interface PortRow {
  key: string;
  protocol: string;
  port: number;
  active: boolean;
  targets: string[];
  service?: string;
  repository?: string;
  containers?: string[];
}

describe('seed behaviours through berth and real Docker daemons', { concurrency: false, timeout: 240_000 }, () => {
  let fleet: DockerdFleet | undefined;
  let d: Dockerd;

  before(async () => {
    if (!available) return;
    fleet = await startDockerds(1);
    d = fleet.daemons[0]!;
  });
  after(async () => {
    await fleet?.stop();
  });

  const ready = (t: TestContext, berth: BerthProcess | undefined): boolean =>
    needTools(t, 'dockerd', 'docker', 'busybox') && berth !== undefined;

  describe('without a certificate resolver', () => {
    const ip = randomLoopback();
    const range = randomRange(3);
    const dir = tempDir('berth-seed-edge-');
    let berth: BerthProcess | undefined;
    let web = 0;
    let config: Record<string, unknown>;

    before(async () => {
      if (!available) return;
      web = await freePort(ip);
      config = {
        providers: { docker: { endpoints: [fleet!.glob], exposedByDefault: false } },
        edge: {
          machineName: 'server-1',
          baseDomain: 'example.com',
          publicIPv4: ip,
          webPort: web,
          websecurePort: await freePort(ip),
          dynamicPorts: `${range.from}-${range.to}`,
        },
        log: { level: 'warn' },
      };
      berth = await startBerth({ dir, config });
      await waitUntil(
        async () =>
          (await berth!.api<{ providers: Record<string, { status: string }> }>('/health')).providers['docker']
            ?.status === 'ok',
        'docker provider ok',
      );
    });
    after(async () => {
      await berth?.stop();
    });

    test('an RPROXY TCP port opens within 1 s of the container start and closes within 1 s of its stop', async (t) => {
      if (!ready(t, berth)) return;
      const port = await freePort(ip);
      const box = randomLoopback();
      await d.runHttpd({
        name: 'znc',
        ip: box,
        port,
        env: { RPROXY: `tcp://irc.example.org:${port}` },
        labels: { 'rediacc.service_ip': box },
      });
      let t0 = Date.now();
      await waitUntil(() => listening(ip, port), `tcp-${port} listening within 1 s of docker run`, 1_000, 10);
      t.diagnostic(`listening ${Date.now() - t0} ms after docker run returned`);
      // The container's httpd may still be starting: the route is there, its server not yet.
      await waitUntil(async () => (await overTcp(ip, port)) === 'znc', 'the container answering through it');
      await d.stopContainer('znc');
      t0 = Date.now();
      await waitUntil(
        async () => !(await listening(ip, port)),
        `tcp-${port} closed within 1 s of docker stop`,
        1_000,
        10,
      );
      t.diagnostic(`closed ${Date.now() - t0} ms after docker stop returned`);
      // And again: the port comes back with the container.
      await d.startContainer('znc');
      await waitUntil(() => listening(ip, port), `tcp-${port} listening again within 1 s of docker start`, 1_000, 10);
      await waitUntil(async () => (await overTcp(ip, port)) === 'znc', 'the container answering through it again');
      await d.removeContainer('znc');
      await waitUntil(
        async () => !(await listening(ip, port)),
        `tcp-${port} closed once the container is gone`,
        1_000,
        10,
      );
    });

    test('an RPROXY HTTP port is served by host suffix while its container runs', async (t) => {
      if (!ready(t, berth)) return;
      const port = await freePort(ip);
      const box = randomLoopback();
      await d.runHttpd({
        name: 'web2',
        ip: box,
        port,
        env: { RPROXY: `http://web2.example.org:${port}` },
        labels: { 'rediacc.service_ip': box },
      });
      await waitUntil(() => listening(ip, port), `${port} listening within 1 s of docker run`, 1_000, 10);
      await waitUntil(
        async () => (await get(ip, port, 'web2.example.org')).status === 200,
        'the container answering through it',
      );
      assert.equal((await get(ip, port, 'web2.example.org')).body, 'web2');
      assert.equal((await get(ip, port, 'www.web2.example.org')).body, 'web2', 'the host matches as a suffix');
      assert.equal((await get(ip, port, 'other.example.org')).status, 404);
      await d.stopContainer('web2');
      await waitUntil(async () => !(await listening(ip, port)), `${port} closed within 1 s of docker stop`, 1_000, 10);
    });

    test('an RPROXY TCP port on the web entrypoint is a diagnostic, and nothing else is touched', async (t) => {
      if (!ready(t, berth)) return;
      const box = randomLoopback();
      await d.runHttpd({
        name: 'greedy',
        ip: box,
        port: web,
        env: { RPROXY: `tcp://greedy.example.org:${web}` },
        labels: { 'rediacc.service_ip': box },
      });
      let diags: Diag[] = [];
      await waitUntil(async () => {
        diags = await berth!.api<Diag[]>('/diagnostics');
        return diags.some((x) => x.element === 'rproxy-tcp-' + web + '@docker');
      }, 'a diagnostic for the RPROXY TCP router');
      assert.match(
        diags.find((x) => x.element === `rproxy-tcp-${web}@docker`)!.message,
        new RegExp(`port ${web} is entrypoint "web", which serves HTTP`),
      );
      await d.removeContainer('greedy');
    });

    test('no resolver: the generated web serves plain HTTP, no redirect to a self-signed certificate', async (t) => {
      if (!ready(t, berth)) return;
      const box = randomLoopback();
      await d.runHttpd({
        name: 'blog',
        ip: box,
        port: 8080,
        labels: {
          'rediacc.service_name': 'blog',
          'rediacc.repo_name': 'shop',
          'rediacc.service_ip': box,
          'rediacc.service_port': '8080',
        },
      });
      await waitUntil(
        async () => (await get(ip, web, 'blog.shop.server-1.example.com')).status === 200,
        'the auto-route over plain HTTP',
      );
      assert.equal((await get(ip, web, 'blog.shop.server-1.example.com')).body, 'blog');
    });

    test('rediacc tcp_ports: a public port from edge.dynamicPorts, listed in /ports with its owner, the same after a restart', async (t) => {
      if (!ready(t, berth)) return;
      const box = randomLoopback();
      const port = await freePort(box);
      // The HTTP port (81) is not the one that answers here: the other listed port goes through L4.
      await d.runHttpd({
        name: 'mail-1',
        ip: box,
        port,
        labels: {
          'rediacc.service_name': 'mail',
          'rediacc.repo_name': 'shop',
          'rediacc.service_ip': box,
          'rediacc.service_port': '81',
          'rediacc.tcp_ports': `81,${port}`,
        },
      });
      const key = `mail-shop-tcp-${port}@docker`;
      let row: PortRow | undefined;
      await waitUntil(async () => {
        row = (await berth!.api<{ allocations: PortRow[] }>('/ports')).allocations.find((a) => a.key === key);
        return row?.active === true;
      }, `${key} in /ports`);
      assert.ok(row!.port >= range.from && row!.port <= range.to, `port ${row!.port} from edge.dynamicPorts`);
      assert.deepEqual(
        {
          protocol: row!.protocol,
          service: row!.service,
          repository: row!.repository,
          containers: row!.containers,
          targets: row!.targets,
        },
        { protocol: 'tcp', service: 'mail', repository: 'shop', containers: ['mail-1'], targets: [`${box}:${port}`] },
      );
      await waitUntil(() => listening(ip, row!.port), 'the public port listening');
      assert.equal(await overTcp(ip, row!.port), 'mail-1');

      await berth!.stop();
      berth = await startBerth({ dir, config });
      let again: PortRow | undefined;
      await waitUntil(async () => {
        again = (await berth!.api<{ allocations: PortRow[] }>('/ports')).allocations.find((a) => a.key === key);
        return again?.active === true;
      }, `${key} in /ports after the restart`);
      assert.equal(again!.port, row!.port, 'the same public port after a restart');
      await waitUntil(() => listening(ip, again!.port), 'the public port listening after the restart');
      assert.equal(await overTcp(ip, again!.port), 'mail-1');
    });

    test('several tcp_ports without service_port: a diagnostic instead of a guessed HTTP port', async (t) => {
      if (!ready(t, berth)) return;
      const box = randomLoopback();
      await d.runHttpd({
        name: 'ambiguous',
        ip: box,
        port: 8080,
        labels: {
          'rediacc.service_name': 'ambiguous',
          'rediacc.repo_name': 'shop',
          'rediacc.service_ip': box,
          'rediacc.tcp_ports': '8080,8443',
        },
      });
      await waitUntil(
        async () =>
          (await berth!.api<Diag[]>('/diagnostics')).some(
            (x) =>
              x.source === 'container "ambiguous" on daemon ' + d.id &&
              /cannot tell which of the ports 8080, 8443 serves HTTP/.test(x.message),
          ),
        'the diagnostic',
      );
      assert.equal(
        (await get(ip, web, 'ambiguous.shop.server-1.example.com')).status,
        404,
        'no HTTP route on a guessed port',
      );
    });
  });

  describe('with a certificate resolver and a tunnel in front', () => {
    const ip = randomLoopback();
    const dir = tempDir('berth-seed-tunnel-');
    let berth: BerthProcess | undefined;
    let web = 0;
    let websecure = 0;

    before(async () => {
      if (!available) return;
      web = await freePort(ip);
      websecure = await freePort(ip);
      berth = await startBerth({
        dir,
        config: {
          providers: { docker: { endpoints: [fleet!.glob], exposedByDefault: false } },
          // A CA that cannot be reached: no certificate is ever issued, which is the point — HTTP
          // must not depend on one.
          certificatesResolvers: {
            le: {
              acme: {
                email: 'ops@example.com',
                storage: `${dir}/acme.json`,
                caServer: 'https://127.0.0.1:9/dir',
                tlsChallenge: {},
              },
            },
          },
          edge: {
            machineName: 'server-1',
            baseDomain: 'example.com',
            publicIPv4: ip,
            webPort: web,
            websecurePort: websecure,
            certResolver: 'le',
            dynamicPorts: '40000-40000',
            forwardedHeaders: { trustedIPs: ['127.0.0.1/32'] },
          },
          log: { level: 'fatal' },
        },
      });
      const box = randomLoopback();
      await d.runHttpd({
        name: 'shopfront',
        ip: box,
        port: 8080,
        labels: {
          'rediacc.service_name': 'shopfront',
          'rediacc.repo_name': 'tunnel',
          'rediacc.service_ip': box,
          'rediacc.service_port': '8080',
        },
      });
      const plain = randomLoopback();
      await d.runHttpd({
        name: 'plain80',
        ip: plain,
        port: 80,
        env: { RPROXY: 'http://plain.example.org' },
        labels: { 'rediacc.service_ip': plain },
      });
      await waitUntil(
        async () =>
          (await get(ip, web, 'shopfront.tunnel.server-1.example.com', { localAddress: '127.0.0.2' })).status === 301,
        'the TLS auto-route redirects',
      );
    });
    after(async () => {
      await berth?.stop();
    });

    const host = 'shopfront.tunnel.server-1.example.com';
    const redirected = (): Reply => ({ status: 301, location: `https://${host}:${websecure}/`, body: '' });
    const cases: { desc: string; from: string; headers?: Record<string, string>; want: () => Reply }[] = [
      {
        desc: 'a trusted X-Forwarded-Proto: https is served, not redirected again',
        from: '127.0.0.1',
        headers: { 'x-forwarded-proto': 'https' },
        want: () => ({ status: 200, location: undefined, body: 'shopfront' }),
      },
      {
        desc: 'an untrusted one is still redirected',
        from: '127.0.0.2',
        headers: { 'x-forwarded-proto': 'https' },
        want: redirected,
      },
      { desc: 'a trusted peer without it is redirected', from: '127.0.0.1', want: redirected },
      {
        desc: 'a trusted X-Forwarded-Proto: http is redirected',
        from: '127.0.0.1',
        headers: { 'x-forwarded-proto': 'http' },
        want: redirected,
      },
    ];
    for (const c of cases) {
      test(c.desc, async (t) => {
        if (!ready(t, berth)) return;
        assert.deepEqual(
          await get(ip, web, host, { localAddress: c.from, ...(c.headers ? { headers: c.headers } : {}) }),
          c.want(),
        );
      });
    }

    test('HTTP on port 80 for a host without a TLS router is served plainly', async (t) => {
      if (!ready(t, berth)) return;
      await waitUntil(
        async () => (await get(ip, web, 'plain.example.org')).status === 200,
        'RPROXY http://plain.example.org on the generated web',
      );
      assert.deepEqual(await get(ip, web, 'plain.example.org'), { status: 200, location: undefined, body: 'plain80' });
    });
  });
});
