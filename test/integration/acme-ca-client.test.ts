/**
 * How berth's ACME client reaches its CA, through berth processes and a real pebble:
 * `caSystemCertPool` adds the system's roots (SSL_CERT_FILE / NODE_EXTRA_CA_CERTS of the process)
 * to `caCertificates`, and `clientTimeout` bounds each request to a CA that accepts connections
 * and never answers: the order fails with that reason, berth keeps running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CertificateStatus } from '../../src/acme/certificate-manager.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { createPki } from '../helpers/pki.ts';
import { tempDir } from '../helpers/temp.ts';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { timeoutSignal } from '../helpers/with-timeout.ts';

describe('ACME CA client options', { timeout: 120_000 }, () => {
  let pebble: Pebble | undefined;
  let cf: CloudflareEmulator | undefined;
  let silent: Server | undefined;
  const held = new Set<Socket>();
  let silentUrl = '';
  /** A CA that signed nothing pebble uses: `caCertificates` alone does not make pebble trusted. */
  let unrelatedCa = '';
  let missing = '';
  const running: BerthProcess[] = [];

  before(async () => {
    if (!hasTool('pebble') || !hasTool('pebble-challtestsrv') || !hasTool('openssl')) {
      missing = 'pebble, pebble-challtestsrv, openssl';
      if (requireIntegration) throw new Error(`missing tools: ${missing}`);
      return;
    }
    pebble = await startPebble();
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    unrelatedCa = createPki('unrelated CA').ca;
    silent = createServer((s) => {
      held.add(s);
      s.on('error', () => undefined);
      s.once('close', () => held.delete(s));
    });
    await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', r));
    silentUrl = `https://127.0.0.1:${(silent.address() as { port: number }).port}/dir`;
  });

  after(async () => {
    for (const b of running) await b.stop();
    for (const s of held) s.destroy();
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
    await pebble?.stop();
    await cf?.close();
  });

  /** Starts berth with one router per resolver (`<resolver>.example.com`) and the given environment. */
  async function run(
    resolvers: Record<string, Record<string, unknown>>,
    env: Record<string, string>,
  ): Promise<BerthProcess> {
    const dir = tempDir('berth-acme-ca-');
    const dyn = join(dir, 'dynamic.yaml');
    writeFileSync(
      dyn,
      stringify({
        http: {
          routers: Object.fromEntries(
            Object.keys(resolvers).map((r) => [
              r,
              { rule: `Host(\`${r}.example.com\`)`, service: 'up', tls: { certResolver: r } },
            ]),
          ),
          services: { up: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } },
        },
      }),
    );
    const certificatesResolvers = Object.fromEntries(
      Object.entries(resolvers).map(([name, acme]) => [
        name,
        {
          acme: {
            email: 'ops@example.com',
            storage: join(dir, 'acme.json'),
            dnsChallenge: { provider: 'cloudflare', resolvers: [pebble!.dnsServer] },
            ...acme,
          },
        },
      ]),
    );
    const berth = await startBerth({
      dir,
      env: { CF_DNS_API_TOKEN: cf!.token, CLOUDFLARE_BASE_URL: cf!.url, ...env },
      timeoutMs: 60_000,
      // An entrypoint of its own on loopback: without one berth would open the default :80 and :443.
      config: {
        entryPoints: { websecure: { address: `127.0.0.1:${await freePort()}` } },
        providers: { file: { filename: dyn, watch: false } },
        certificatesResolvers,
      },
    });
    running.push(berth);
    return berth;
  }

  /** Waits until every named certificate has left pending/ordering, and returns their rows. */
  async function settled(berth: BerthProcess, mains: string[]): Promise<Map<string, CertificateStatus>> {
    let rows = new Map<string, CertificateStatus>();
    await waitUntil(
      async () => {
        const certs = await berth.api<{ managed: CertificateStatus[] }>('/certs');
        rows = new Map(certs.managed.map((c) => [c.main, c]));
        return mains.every((m) => ['valid', 'failed'].includes(rows.get(m)?.state ?? ''));
      },
      `certificates ${mains.join(', ')} to be ordered or failed`,
      60_000,
      100,
    );
    return rows;
  }

  /** The same pebble under another origin (`localhost`): berth keeps TLS settings per CA origin. */
  const otherOrigin = (p: Pebble) => p.directoryUrl.replace('127.0.0.1', 'localhost');

  const systemStores = [
    {
      desc: 'SSL_CERT_FILE (the operating system store, as Go reads it)',
      env: (p: Pebble) => ({ SSL_CERT_FILE: p.caCertPath, SSL_CERT_DIR: tempDir('berth-empty-certs-') }),
      slow: true,
    },
    { desc: 'NODE_EXTRA_CA_CERTS', env: (p: Pebble) => ({ NODE_EXTRA_CA_CERTS: p.caCertPath }), slow: false },
  ];
  for (const store of systemStores) {
    describe(`a CA whose root is only in ${store.desc}`, () => {
      let berth: BerthProcess | undefined;
      let rows = new Map<string, CertificateStatus>();

      before(async () => {
        if (missing) return;
        berth = await run(
          {
            sys: { caServer: pebble!.directoryUrl, caCertificates: [unrelatedCa], caSystemCertPool: true },
            nosys: { caServer: otherOrigin(pebble!), caCertificates: [unrelatedCa] },
            ...(store.slow ? { slow: { caServer: silentUrl, clientTimeout: '500ms' } } : {}),
          },
          store.env(pebble!),
        );
        rows = await settled(berth, [
          'sys.example.com',
          'nosys.example.com',
          ...(store.slow ? ['slow.example.com'] : []),
        ]);
      });
      after(async () => {
        await berth?.stop();
      });

      test('caSystemCertPool: trusted next to caCertificates, the certificate is issued', (t) => {
        if (missing) return t.skip(`missing tools: ${missing}`);
        assert.equal(rows.get('sys.example.com')?.state, 'valid', rows.get('sys.example.com')?.lastError);
      });

      test('without caSystemCertPool: caCertificates alone, the CA is refused', (t) => {
        if (missing) return t.skip(`missing tools: ${missing}`);
        assert.equal(rows.get('nosys.example.com')?.state, 'failed');
        assert.match(
          rows.get('nosys.example.com')?.lastError ?? '',
          /cannot reach https:\/\/localhost:\d+\/dir: .*(SELF_SIGNED|self-signed|UNABLE_TO_VERIFY)/i,
        );
      });

      if (store.slow) {
        test('clientTimeout: a CA that accepts and never answers fails the order with a timeout; berth keeps running', async (t) => {
          if (missing) return t.skip(`missing tools: ${missing}`);
          assert.equal(rows.get('slow.example.com')?.state, 'failed');
          assert.match(
            rows.get('slow.example.com')?.lastError ?? '',
            new RegExp(
              `cannot reach ${silentUrl.replace(/[.]/g, '\\.')}: no answer within 500 ms \\(acme\\.clientTimeout\\)`,
            ),
          );
          assert.ok(
            berth!.logs.some((l) => /certificate order failed/.test(l) && /acme\.clientTimeout/.test(l)),
            'the failure is logged with its reason',
          );
          assert.equal(
            (await fetch(`${berth!.apiUrl}/ping`, { signal: timeoutSignal(15_000, 'berth /ping') })).status,
            200,
            'berth is still running',
          );
          assert.equal(berth!.child.exitCode, null);
        });
      }
    });
  }
});
