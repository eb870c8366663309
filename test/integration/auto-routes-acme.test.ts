import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { randomLoopback, startDockerds, type DockerdFleet } from '../helpers/dockerd.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

/** GET https://host/ through berth with a client that trusts only pebble's root. */
function httpsGet(port: number, host: string, ca: string): Promise<{ status: number; body: string; san: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, servername: host, headers: { host }, ca, agent: false, path: '/' },
      (res) => {
        const san = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate()?.subjectAltName ?? '';
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        rejectIfCut(res, reject, `httpsGet on ${port}`);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim(), san }));
      },
    );
    idleTimeout(req, 30_000, `httpsGet on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

describe('auto-routes with a per-repository wildcard over DNS-01, and HTTP-01 on the web entrypoint', {
  timeout: 180_000,
}, () => {
  let fleet: DockerdFleet | undefined;
  let pebble: Pebble | undefined;
  let cf: CloudflareEmulator | undefined;
  let berth: BerthProcess | undefined;
  let websecure = 0;
  let ready = false;
  let dynPath = '';

  before(async () => {
    const missing = ['dockerd', 'busybox', 'pebble', 'pebble-challtestsrv'].filter((x) => !hasTool(x));
    if (missing.length > 0) {
      if (requireIntegration) throw new Error(`missing tools: ${missing.join(', ')}`);
      return;
    }
    const web = await freePort();
    websecure = await freePort();
    [fleet, pebble] = await Promise.all([startDockerds(1), startPebble({ httpPort: web })]);
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    const dir = tempDir('berth-auto-acme-');
    dynPath = join(dir, 'dynamic.yaml');
    writeFileSync(dynPath, '{}\n');
    const acme = { email: 'ops@example.com', caServer: pebble.directoryUrl, caCertificates: [pebble.caCertPath] };
    berth = await startBerth({
      dir,
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      config: {
        entryPoints: {
          web: { address: `127.0.0.1:${web}` },
          websecure: { address: `127.0.0.1:${websecure}`, http: { tls: {} } },
        },
        providers: {
          docker: { exposedByDefault: false, endpoints: [fleet.glob] },
          file: { filename: join(dir, 'dynamic.yaml'), watch: true },
        },
        certificatesResolvers: {
          le: {
            acme: {
              ...acme,
              storage: join(dir, 'acme.json'),
              dnsChallenge: { provider: 'cloudflare', resolvers: [pebble.dnsServer] },
            },
          },
          lehttp: { acme: { ...acme, storage: join(dir, 'acme.json'), httpChallenge: { entryPoint: 'web' } } },
        },
        edge: { machineName: 'server-1', baseDomain: 'example.com', certResolver: 'le' },
      },
    });
    ready = true;
  });

  after(async () => {
    await berth?.stop();
    await Promise.all([fleet?.stop(), pebble?.stop(), cf?.close()]);
  });

  const run = async (name: string, labels: Record<string, string>): Promise<void> => {
    const ip = randomLoopback();
    const port = await freePort(ip);
    await fleet!.daemons[0]!.runHttpd({
      name,
      ip,
      port,
      body: name,
      labels: { ...labels, 'rediacc.service_ip': ip, 'rediacc.service_port': String(port) },
    });
  };

  test('a rediacc container gets https://myapp.marketing.server-1.example.com with the repository wildcard; a sibling and a fork reuse it', async (t) => {
    if (!ready) return t.skip('integration tools missing');
    const { root } = await pebble!.roots();
    await run('myapp', { 'rediacc.service_name': 'myapp', 'rediacc.repo_name': 'marketing' });
    let first = { status: 0, body: '', san: '' };
    await waitUntil(
      async () => {
        first = await httpsGet(websecure, 'myapp.marketing.server-1.example.com', root);
        return first.status === 200;
      },
      'the auto-route over a certificate pebble issued',
      60_000,
      200,
    );
    assert.equal(first.body, 'myapp');
    assert.match(first.san, /DNS:\*\.marketing\.server-1\.example\.com/);
    const orders = pebble!.orders();
    assert.equal(orders, 1, 'one order for the repository wildcard');
    assert.ok(
      cf!.log.some((l) => l.startsWith('POST /zones/')),
      'the TXT record went through the Cloudflare API',
    );

    await run('api', { 'rediacc.service_name': 'api', 'rediacc.repo_name': 'marketing' });
    await run('myapp-staging', {
      'rediacc.service_name': 'myapp',
      'rediacc.repo_name': 'marketing:staging',
      'rediacc.is_fork': 'true',
      'rediacc.fork_tag': 'staging',
    });
    for (const [host, body] of [
      ['api.marketing.server-1.example.com', 'api'],
      ['myapp-fork-staging.marketing.server-1.example.com', 'myapp-staging'],
    ] as const) {
      let r = { status: 0, body: '', san: '' };
      await waitUntil(
        async () => {
          r = await httpsGet(websecure, host, root);
          return r.status === 200;
        },
        host,
        20_000,
        100,
      );
      assert.equal(r.body, body);
      assert.match(r.san, /\*\.marketing\.server-1\.example\.com/);
    }
    assert.equal(pebble!.orders(), orders, 'a sibling service and a fork order nothing');
  });

  test('an HTTP-01 resolver issues an exact-name certificate, answering the challenge on the web entrypoint', async (t) => {
    if (!ready) return t.skip('integration tools missing');
    const { root } = await pebble!.roots();
    writeFileSync(
      dynPath,
      stringify({
        http: {
          routers: {
            shop: {
              rule: 'Host(`shop.customer.org`)',
              service: 'noop@internal',
              entryPoints: ['websecure'],
              tls: { certResolver: 'lehttp' },
            },
          },
        },
      }),
    );
    let r = { status: 0, body: '', san: '' };
    await waitUntil(
      async () => {
        r = await httpsGet(websecure, 'shop.customer.org', root);
        return r.san.includes('shop.customer.org');
      },
      'an HTTP-01 certificate',
      60_000,
      200,
    );
    assert.equal(r.san, 'DNS:shop.customer.org');
  });
});
