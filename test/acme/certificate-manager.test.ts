import { test, describe, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTlsServer, connect, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { CertificateManager } from '../../src/acme/certificate-manager.ts';
import type { CertificateManagerOptions } from '../../src/acme/certificate-manager-options.ts';
import { CertificateStore } from '../../src/tls/certificate-store.ts';
import { tlsServerOptions } from '../../src/tls/options.ts';
import type { CertResolverConfig } from '../../src/config/static/types.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import { tempDir } from '../helpers/temp.ts';
import { fillUp, onSmallTmpfs } from '../helpers/tmpfs.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

const quiet = pino({ level: 'silent' });
const DAY = 86_400_000;

function routers(...hosts: string[]): DynamicConfig {
  const r: NonNullable<NonNullable<DynamicConfig['http']>['routers']> = {};
  for (const h of hosts) r[h] = { rule: `Host(\`${h}\`)`, service: 'svc', tls: { certResolver: 'le' } };
  return { http: { routers: r } };
}

describe('CertificateManager against pebble', () => {
  let pebble: Pebble | undefined;
  let cf: CloudflareEmulator;
  let roots: { root: string; intermediate: string };
  let httpServer: HttpServer;
  let tlsServer: TlsServer;
  const tlsStore = { current: new CertificateStore() };
  const httpManager: { current?: CertificateManager } = {};
  const managers: CertificateManager[] = [];
  let skip = false;

  before(async () => {
    if (!hasTool('pebble') || !hasTool('pebble-challtestsrv')) {
      if (requireIntegration) throw new Error('pebble is required');
      skip = true;
      return;
    }
    // Challenge listeners first: pebble validates HTTP-01 / TLS-ALPN-01 on fixed ports.
    const [httpPort, tlsPort] = [await freePort(), await freePort()];
    httpServer = createHttpServer((req, res) => {
      if (!httpManager.current?.http01(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => httpServer.listen(httpPort, '127.0.0.1', r));
    tlsServer = createTlsServer(
      {
        SNICallback(this: TLSSocket, n, cb) {
          tlsServerOptions(tlsStore.current).SNICallback.call(this, n, cb);
        },
        ALPNCallback: (a) => tlsServerOptions(tlsStore.current).ALPNCallback(a),
      },
      (s) => s.end(),
    );
    await new Promise<void>((r) => tlsServer.listen(tlsPort, '127.0.0.1', r));
    pebble = await startPebble({ httpPort, tlsPort });
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    roots = await pebble.roots();
  });

  after(async () => {
    for (const m of managers) await m.stop();
    await pebble?.stop();
    await cf?.close();
    httpServer?.close();
    tlsServer?.close();
  });

  function resolver(
    p: Pebble,
    storage: string,
    extra: Partial<CertResolverConfig['acme']> = {},
  ): Record<string, CertResolverConfig> {
    return {
      le: {
        acme: {
          email: 'ops@example.com',
          storage,
          caServer: p.directoryUrl,
          caCertificates: [p.caCertPath],
          dnsChallenge: { provider: 'cloudflare', resolvers: [p.dnsServer] },
          ...extra,
        },
      },
    };
  }

  function manager(
    opts: Partial<CertificateManagerOptions> & Pick<CertificateManagerOptions, 'resolvers' | 'store'>,
  ): CertificateManager {
    const m = new CertificateManager({
      logger: quiet,
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      backoff: { initialMs: 100, maxMs: 2000 },
      propagationTimeoutMs: 10_000,
      ...opts,
    });
    managers.push(m);
    return m;
  }

  /** Serves `store` on a TLS port and returns the leaf a client trusting pebble's root receives. */
  async function served(store: CertificateStore, servername: string): Promise<X509Certificate> {
    const server = createTlsServer(tlsServerOptions(store), (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      return await new Promise<X509Certificate>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, servername, ca: roots.root }, () => {
          const peer = s.getPeerX509Certificate();
          s.destroy();
          if (peer) resolve(peer);
          else reject(new Error('no certificate'));
        });
        idleTimeout(s, 30_000, `TLS handshake for ${servername} on ${port}`);
        s.on('error', reject);
      });
    } finally {
      server.close();
    }
  }

  /**
   * Runs `fn` on a real full filesystem (a small tmpfs, no acme.json yet): removing `filler` in
   * it makes room. Needs root and mount(2); skips (or fails under CI) without them.
   */
  async function onFullDisk(t: TestContext, fn: (dir: string) => Promise<void>): Promise<void> {
    await onSmallTmpfs(t, 'berth-acme-full-', async (full) => {
      fillUp(full);
      await fn(full);
    });
  }

  const dir = tempDir('berth-acme-');
  const storage = join(dir, 'acme.json');

  test("DNS-01 wildcard order end to end; the served certificate verifies against pebble's root", async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    const store = new CertificateStore();
    const m = manager({ resolvers: resolver(p, storage), store });
    await m.start();
    const before = p.orders();
    m.update(routers('app.example.com'), {});
    await m.whenIdle();
    assert.equal(p.orders() - before, 1);
    const st = m.status();
    assert.equal(st.length, 1);
    assert.equal(st[0]?.state, 'valid');
    assert.deepEqual([...(st[0]?.names ?? [])].sort(), ['*.example.com', 'app.example.com']);
    assert.deepEqual(st[0]?.routers, ['app.example.com']);
    const leaf = await served(store, 'app.example.com');
    assert.match(leaf.subjectAltName ?? '', /DNS:\*\.example\.com/);
    assert.equal(cf.records('TXT').length, 0, 'challenge TXT records removed');
    assert.equal(statSync(storage).mode & 0o777, 0o600);
    const doc = JSON.parse(readFileSync(storage, 'utf8')) as Record<
      string,
      {
        Account: { Email: string; Registration: { uri: string }; PrivateKey: string };
        Certificates: { domain: { main: string; sans: string[] }; certificate: string; key: string; Store: string }[];
      }
    >;
    assert.equal(doc['le']?.Account.Email, 'ops@example.com');
    assert.match(doc['le']?.Account.Registration.uri ?? '', /^https:\/\/127\.0\.0\.1/);
    assert.equal(doc['le']?.Certificates[0]?.domain.main, 'app.example.com');
    assert.deepEqual(doc['le']?.Certificates[0]?.domain.sans, ['*.example.com']);
    assert.match(Buffer.from(doc['le']?.Certificates[0]?.certificate ?? '', 'base64').toString(), /BEGIN CERTIFICATE/);
    assert.equal(doc['le']?.Certificates[0]?.Store, 'default');

    // Reuse: another host under the same wildcard causes no order.
    m.update(routers('app.example.com', 'other.example.com'), {});
    await m.whenIdle();
    assert.equal(p.orders() - before, 1);
    assert.match((await served(store, 'other.example.com')).subjectAltName ?? '', /\*\.example\.com/);
  });

  test('restart on the same storage: zero orders, certificate served at once', async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    const store = new CertificateStore();
    const m = manager({ resolvers: resolver(p, storage), store });
    const before = p.orders();
    await m.start();
    assert.equal(store.select('app.example.com').match, 'exact');
    m.update(routers('app.example.com', 'third.example.com'), {});
    await m.whenIdle();
    assert.equal(p.orders(), before);
  });

  test('renewal window: renewed and swapped; 429 + Retry-After first, old certificate kept meanwhile', async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    const store = new CertificateStore();
    const notAfter = JSON.parse(readFileSync(storage, 'utf8')) as Record<
      string,
      { Certificates: { certificate: string }[] }
    >;
    const old = new X509Certificate(Buffer.from(notAfter['le']?.Certificates[0]?.certificate ?? '', 'base64'));
    const shift = new Date(old.validTo).getTime() - Date.now() - 10 * DAY; // 10 days before expiry
    const m = manager({ resolvers: resolver(p, storage), store, now: () => Date.now() + shift });
    p.inject({ count: 1, status: 429, retryAfterSeconds: 1, path: /^\/order-plz$/ });
    const before = p.orders();
    await m.start();
    m.update(routers('app.example.com'), {});
    await m.whenIdle();
    const failed = m.status()[0];
    assert.equal(failed?.state, 'failed');
    assert.match(failed?.lastError ?? '', /429|rate/i);
    assert.ok(failed?.nextAttempt);
    assert.ok(new Date(failed.nextAttempt).getTime() - (Date.now() + shift) >= 900, 'retry not before Retry-After');
    assert.equal(
      (await served(store, 'app.example.com')).fingerprint256,
      old.fingerprint256,
      'old certificate keeps serving',
    );
    await waitUntil(() => m.status()[0]?.state === 'valid', 'renewal after Retry-After', 15_000);
    await m.whenIdle();
    assert.equal(p.orders() - before, 1, 'one successful order, the rate-limited one never reached pebble');
    assert.notEqual(
      (await served(store, 'app.example.com')).fingerprint256,
      old.fingerprint256,
      'renewed certificate swapped in',
    );
  });

  test('acme.json on a full disk: account and certificate are used, nothing is registered or ordered twice, both are stored once there is room', async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    await onFullDisk(t, async (full) => {
      const file = join(full, 'acme.json');

      const store = new CertificateStore();
      const m = manager({ resolvers: resolver(p, file), store });
      const [orders, accounts] = [p.orders(), p.accounts()];
      await m.start();
      m.update(routers('app.example.com'), {});
      await m.whenIdle();
      assert.match((await served(store, 'app.example.com')).subjectAltName ?? '', /DNS:app\.example\.com/);
      const row = m.status()[0];
      assert.equal(row?.state, 'valid', JSON.stringify(row));
      assert.match(row?.lastError ?? '', /not stored in .*acme\.json: .*(ENOSPC|no space)/i);
      assert.equal(existsSync(file), false, 'nothing half-written');
      const pending = m.storageStatus()[0];
      assert.equal(pending?.stored, false, 'the resolver shows what is only in memory');
      assert.ok((pending?.failedWrites ?? 0) >= 1);

      rmSync(join(full, 'filler'));
      await waitUntil(() => m.status()[0]?.lastError === undefined, 'the certificate to be stored', 15_000);
      await m.whenIdle();
      assert.equal(p.orders() - orders, 1, 'the failed writes cost no second order');
      assert.equal(p.accounts() - accounts, 1, 'nor a second account');
      assert.equal(m.storageStatus()[0]?.stored, true);
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<
        string,
        { Account: { Registration: { uri: string } }; Certificates: { domain: { main: string } }[] }
      >;
      assert.match(stored['le']?.Account.Registration.uri ?? '', /^https:/);
      assert.equal(stored['le']?.Certificates[0]?.domain.main, 'app.example.com');
      await m.stop();

      // What was stored late serves a restart without an order or a registration.
      const again = manager({ resolvers: resolver(p, file), store: new CertificateStore() });
      await again.start();
      again.update(routers('app.example.com', 'example.com'), {});
      await again.whenIdle();
      assert.equal(p.orders() - orders, 2, 'only the apex, which the wildcard does not cover, is ordered');
      assert.equal(p.accounts() - accounts, 1, 'with the stored account');
    });
  });

  test('acme.json on a full disk: what could not be stored is written when berth stops', async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    await onFullDisk(t, async (full) => {
      const file = join(full, 'acme.json');
      // The retry is an hour away: only the stop can store the certificate in time.
      const m = manager({
        resolvers: resolver(p, file),
        store: new CertificateStore(),
        backoff: { initialMs: 3_600_000 },
      });
      await m.start();
      m.update(routers('stop.example.com'), {});
      await m.whenIdle();
      assert.match(m.status()[0]?.lastError ?? '', /not stored/);
      rmSync(join(full, 'filler'));
      await m.stop();
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<
        string,
        { Certificates: { domain: { main: string } }[] }
      >;
      assert.equal(stored['le']?.Certificates[0]?.domain.main, 'stop.example.com');
    });
  });

  test('Cloudflare 5xx and pebble down: backoff, then success', async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    const store = new CertificateStore();
    const m = manager({ resolvers: resolver(p, join(dir, 'faults.json')), store });
    await m.start();
    cf.failNext(4, 500);
    p.setDown(true);
    m.update(routers('faults.example.org', 'flaky.example.com'), {});
    await m.whenIdle();
    const rows = m.status();
    assert.ok(rows.length >= 1 && rows.every((r) => r.state === 'failed' && r.nextAttempt), JSON.stringify(rows));
    assert.ok(
      rows.some((r) => /cannot reach/.test(r.lastError ?? '')),
      JSON.stringify(rows),
    );
    p.setDown(false);
    cf.addZone('example.org');
    await waitUntil(() => m.status().every((r) => r.state === 'valid'), 'orders after the faults', 20_000);
    assert.equal(store.select('flaky.example.com').match, 'exact');
    assert.equal(store.select('faults.example.org').match, 'exact');
    assert.equal(cf.records('TXT').length, 0, 'TXT records cleaned up even after failures');
  });

  test('a missing Cloudflare token fails that resolver with a clear error', async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    const m = new CertificateManager({
      logger: quiet,
      env: {},
      resolvers: resolver(p, join(dir, 'notoken.json')),
      store: new CertificateStore(),
      backoff: { initialMs: 60_000 },
    });
    managers.push(m);
    await m.start();
    m.update(routers('x.example.com'), {});
    await m.whenIdle();
    assert.equal(m.status()[0]?.state, 'failed');
    assert.match(m.status()[0]?.lastError ?? '', /CF_DNS_API_TOKEN/);
  });

  test('HTTP-01: the exact host is ordered and validated through manager.http01', async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    const store = new CertificateStore();
    const m = manager({
      resolvers: {
        le: {
          acme: {
            storage: join(dir, 'http.json'),
            caServer: p.directoryUrl,
            caCertificates: [p.caCertPath],
            httpChallenge: { entryPoint: 'web' },
          },
        },
      },
      store,
    });
    httpManager.current = m;
    await m.start();
    m.update(routers('web.example.net'), {});
    await m.whenIdle();
    assert.equal(m.status()[0]?.state, 'valid', m.status()[0]?.lastError);
    assert.deepEqual(m.status()[0]?.names, ['web.example.net']);
    assert.equal((await served(store, 'web.example.net')).subjectAltName, 'DNS:web.example.net');
  });

  test("TLS-ALPN-01: validated through the store's acme-tls/1 certificate", async (t) => {
    if (skip) return t.skip('pebble not installed');
    const p = pebble!;
    const store = new CertificateStore();
    tlsStore.current = store;
    const m = manager({
      resolvers: {
        le: {
          acme: {
            storage: join(dir, 'alpn.json'),
            caServer: p.directoryUrl,
            caCertificates: [p.caCertPath],
            tlsChallenge: {},
          },
        },
      },
      store,
    });
    await m.start();
    m.update(routers('alpn.example.net'), {});
    await m.whenIdle();
    assert.equal(m.status()[0]?.state, 'valid', m.status()[0]?.lastError);
    assert.equal(store.hasChallenge('alpn.example.net'), false, 'challenge certificate removed');
    assert.equal((await served(store, 'alpn.example.net')).subjectAltName, 'DNS:alpn.example.net');
  });
});
