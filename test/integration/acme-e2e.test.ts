import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { parsePrometheus, sampleValue } from '../observability/prom-parse.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout, timeoutSignal } from '../helpers/with-timeout.ts';

/** The leaf a client that trusts only pebble's root receives for `servername` (verification on). */
function verifiedLeaf(port: number, servername: string, root: string): Promise<{ san: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, ca: root, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve({ san: s.getPeerX509Certificate()?.subjectAltName ?? '', alpn: s.alpnProtocol ?? false });
      s.destroy();
    });
    idleTimeout(s, 30_000, `TLS handshake for ${servername} on ${port}`);
    s.on('error', reject);
  });
}

describe('berth + pebble: a router with tls.certResolver gets a DNS-01 certificate', { timeout: 90_000 }, () => {
  let pebble: Pebble | undefined;
  let cf: CloudflareEmulator | undefined;
  let berth: BerthProcess | undefined;
  let websecure = 0;
  let dir = '';
  const upstream = createServer((_req, res) => res.end('ok'));
  let missing = '';

  before(async () => {
    if (!hasTool('pebble') || !hasTool('pebble-challtestsrv')) {
      missing = 'pebble, pebble-challtestsrv';
      if (requireIntegration) throw new Error(`missing tools: ${missing}`);
      return;
    }
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    pebble = await startPebble();
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    dir = tempDir('berth-acme-e2e-');
    writeFileSync(
      join(dir, 'dynamic.yaml'),
      stringify({
        http: {
          routers: {
            app: {
              rule: 'Host(`app.example.com`)',
              service: 'up',
              entryPoints: ['websecure'],
              tls: { certResolver: 'le' },
            },
          },
          services: {
            up: {
              loadBalancer: { servers: [{ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }] },
            },
          },
        },
      }),
    );
    websecure = await freePort();
    berth = await startBerth({
      dir,
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      config: {
        entryPoints: { websecure: { address: `127.0.0.1:${websecure}` } },
        providers: { file: { filename: join(dir, 'dynamic.yaml'), watch: false } },
        certificatesResolvers: {
          le: {
            acme: {
              email: 'ops@example.com',
              storage: join(dir, 'acme.json'),
              caServer: pebble.directoryUrl,
              caCertificates: [pebble.caCertPath],
              dnsChallenge: { provider: 'cloudflare', resolvers: [pebble.dnsServer] },
            },
          },
        },
        metrics: { prometheus: {} },
      },
    });
  });

  after(async () => {
    await berth?.stop();
    await pebble?.stop();
    await cf?.close();
    upstream.close();
  });

  test("the certificate is issued, stored and served; it verifies against pebble's root", async (t) => {
    if (missing) return t.skip(`missing tools: ${missing}`);
    const p = pebble!;
    const { root } = await p.roots();
    let leaf = { san: '', alpn: false as string | false };
    await waitUntil(
      async () => {
        leaf = await verifiedLeaf(websecure, 'app.example.com', root);
        return true;
      },
      "a certificate for app.example.com that verifies against pebble's root",
      30_000,
      200,
    );
    assert.match(leaf.san, /DNS:app\.example\.com/);
    assert.match(leaf.san, /DNS:\*\.example\.com/);
    assert.equal(leaf.alpn, 'h2');
    assert.equal(p.orders(), 1);
    const doc = JSON.parse(readFileSync(join(dir, 'acme.json'), 'utf8')) as Record<
      string,
      { Certificates: { domain: { main: string } }[] }
    >;
    assert.equal(doc['le']?.Certificates[0]?.domain.main, 'app.example.com');
    const fams = parsePrometheus(
      await (await fetch(`${berth!.apiUrl}/metrics`, { signal: timeoutSignal(15_000, 'berth /metrics') })).text(),
    );
    const storage = { resolver: 'le', storage: join(dir, 'acme.json') };
    assert.equal(sampleValue(fams, 'berth_acme_storage_stored', storage), 1, 'the storage holds the certificate');
    assert.equal(sampleValue(fams, 'berth_acme_storage_write_failures_total', storage), 0);
    // The wildcard SAN covers siblings; unknown names still get the default certificate.
    assert.match((await verifiedLeaf(websecure, 'sibling.example.com', root)).san, /\*\.example\.com/);
    await assert.rejects(verifiedLeaf(websecure, 'unknown.test', root));
  });

  test('a restart on the same acme.json orders nothing', async (t) => {
    if (missing) return t.skip(`missing tools: ${missing}`);
    const p = pebble!;
    await berth!.stop();
    const before = p.orders();
    berth = await startBerth({
      dir,
      env: { CF_DNS_API_TOKEN: cf!.token, CLOUDFLARE_BASE_URL: cf!.url },
      config: readFileSync(berth!.configPath, 'utf8'),
    });
    const { root } = await p.roots();
    await waitUntil(
      async () => /app\.example\.com/.test((await verifiedLeaf(websecure, 'app.example.com', root)).san),
      'stored certificate served after restart',
      15_000,
      100,
    );
    assert.equal(p.orders(), before);
  });
});
