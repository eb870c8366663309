/**
 * The "Complete Example" of the Rediacc networking guide, end to end from real container labels on
 * a real dockerd: a web application at https://app.example.com with an HSTS middleware and a
 * Let's Encrypt-style resolver (here pebble over DNS-01 through the Cloudflare emulator), and a
 * database container without Traefik labels that must stay internal (no route at all).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { randomLoopback, startDockerds, type DockerdFleet } from '../helpers/dockerd.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

function httpsGet(
  ip: string,
  port: number,
  host: string,
  ca: string,
): Promise<{ status: number; body: string; hsts: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: ip, port, servername: host, headers: { host }, ca, agent: false, path: '/' },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        rejectIfCut(res, reject, `httpsGet on ${port}`);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: body.trim(),
            hsts: res.headers['strict-transport-security'] as string | undefined,
          }),
        );
      },
    );
    idleTimeout(req, 30_000, `httpsGet on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

describe('seed 000 complete example: web application with an HSTS chain, PostgreSQL internal only', {
  timeout: 180_000,
}, () => {
  let fleet: DockerdFleet | undefined;
  let pebble: Pebble | undefined;
  let cf: CloudflareEmulator | undefined;
  let berth: BerthProcess | undefined;
  let ip = '';
  let websecure = 0;
  let web = 0;
  let ready = false;

  before(async () => {
    const missing = ['dockerd', 'busybox', 'pebble', 'pebble-challtestsrv'].filter((x) => !hasTool(x));
    if (missing.length > 0) {
      if (requireIntegration) throw new Error(`missing tools: ${missing.join(', ')}`);
      return;
    }
    ip = randomLoopback();
    web = await freePort(ip);
    websecure = await freePort(ip);
    [fleet, pebble] = await Promise.all([startDockerds(1), startPebble()]);
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    const d = fleet.daemons[0]!;
    const appIp = randomLoopback();
    // What `renet compose up` starts: the labels of the guide, plus the service IP renet injects.
    await d.runHttpd({
      name: 'webapp',
      ip: appIp,
      port: 3000,
      body: 'webapp',
      labels: {
        'rediacc.service_name': 'webapp',
        'rediacc.repo_name': 'shop',
        'rediacc.service_ip': appIp,
        'traefik.enable': 'true',
        'traefik.http.routers.webapp.rule': 'Host(`app.example.com`)',
        'traefik.http.routers.webapp.entrypoints': 'websecure,websecure-v6',
        'traefik.http.routers.webapp.tls.certresolver': 'letsencrypt',
        'traefik.http.services.webapp.loadbalancer.server.port': '3000',
        'traefik.http.middlewares.webapp-hsts.headers.stsSeconds': '15768000',
        'traefik.http.middlewares.webapp-hsts.headers.stsIncludeSubdomains': 'true',
        'traefik.http.routers.webapp.middlewares': 'webapp-hsts',
      },
    });
    // The database: no Traefik labels, internal only.
    await d.runHttpd({ name: 'postgres', body: 'database' });
    const dir = tempDir('berth-seed-000-');
    berth = await startBerth({
      dir,
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      config: {
        providers: { docker: { endpoints: [fleet.glob], exposedByDefault: false } },
        certificatesResolvers: {
          letsencrypt: {
            acme: {
              email: 'ops@example.com',
              storage: join(dir, 'acme.json'),
              caServer: pebble.directoryUrl,
              caCertificates: [pebble.caCertPath],
              dnsChallenge: { provider: 'cloudflare', resolvers: [pebble.dnsServer] },
            },
          },
        },
        edge: {
          machineName: 'server-1',
          baseDomain: 'example.com',
          publicIPv4: ip,
          webPort: web,
          websecurePort: websecure,
          autoRoutes: false,
        },
      },
    });
    ready = true;
  });

  after(async () => {
    await berth?.stop();
    await Promise.all([fleet?.stop(), pebble?.stop(), cf?.close()]);
  });

  test('https://app.example.com answers with a pebble-issued certificate and exactly the HSTS header of the labels', async (t) => {
    if (!ready) return t.skip('integration tools missing');
    const { root } = await pebble!.roots();
    let r = { status: 0, body: '', hsts: undefined as string | undefined };
    await waitUntil(
      async () => {
        r = await httpsGet(ip, websecure, 'app.example.com', root);
        return r.status === 200;
      },
      'app.example.com over a verified certificate',
      60_000,
      200,
    );
    assert.equal(r.body, 'webapp');
    assert.equal(r.hsts, 'max-age=15768000; includeSubDomains');
  });

  test('plain HTTP on the generated web entrypoint redirects to HTTPS', async (t) => {
    if (!ready) return t.skip('integration tools missing');
    const res = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      const req = httpRequest(
        { host: ip, port: web, path: '/login', headers: { host: 'app.example.com' }, agent: false },
        (x) => {
          x.resume();
          resolve({ status: x.statusCode ?? 0, location: x.headers.location });
        },
      );
      idleTimeout(req, 30_000, `GET /login on ${web}`);
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 301);
    assert.equal(res.location, `https://app.example.com:${websecure}/login`);
  });

  test('the database container gets no route; the missing websecure-v6 entrypoint is a warning, not an outage', async (t) => {
    if (!ready) return t.skip('integration tools missing');
    const routes = await berth!.api<{
      http: { name: string; status: string }[];
      diagnostics: { level: string; message: string }[];
    }>('/routes.json');
    const names = routes.http.map((r) => r.name).filter((n) => !n.endsWith('@internal'));
    assert.deepEqual(names, ['webapp@docker']);
    assert.ok(
      routes.diagnostics.some((d) => d.level === 'warning' && d.message.includes('websecure-v6')),
      JSON.stringify(routes.diagnostics),
    );
  });
});
