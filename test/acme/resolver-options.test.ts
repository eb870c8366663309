import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../../src/lib/logger.ts';
import { needTools } from '../helpers/tools.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { startKnot } from '../helpers/knot.ts';
import { startAcmeDnsServer, startHttpReqEndpoint, writeExecScript } from '../helpers/dns01-backends.ts';
import { waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { CertificateManager } from '../../src/acme/certificate-manager.ts';
import { CertificateStore } from '../../src/tls/certificate-store.ts';
import type { CertResolverConfig } from '../../src/config/static/types.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import { timeoutSignal } from '../helpers/with-timeout.ts';

/** Traefik's resolver options against a real pebble: each one changes what is ordered or how. */

const dir = tempDir('berth-acme-options-');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function routers(...hosts: string[]): DynamicConfig {
  return {
    http: {
      routers: Object.fromEntries(
        hosts.map((h) => [h, { rule: `Host(\`${h}\`)`, service: 'svc', tls: { certResolver: 'le' } }]),
      ),
    },
  };
}

async function pebbleWithDns(
  opts: Parameters<typeof startPebble>[0] = {},
): Promise<{ pebble: Pebble; cf: CloudflareEmulator }> {
  const pebble = await startPebble(opts);
  const cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
  cf.addZone('example.com');
  cleanups.push(
    () => pebble.stop(),
    () => cf.close(),
  );
  return { pebble, cf };
}

function logCapture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), lines };
}

async function issue(
  acme: Partial<CertResolverConfig['acme']>,
  env: NodeJS.ProcessEnv,
  host: string,
  logger: Logger = pino({ level: 'silent' }),
): Promise<CertificateManager> {
  const m = new CertificateManager({
    logger,
    env,
    resolvers: { le: { acme: { storage: join(dir, `${randomBytes(4).toString('hex')}.json`), ...acme } } },
    store: new CertificateStore(),
    backoff: { initialMs: 3_600_000 },
    propagationTimeoutMs: 10_000,
    propagationIntervalMs: 100,
  });
  cleanups.push(() => m.stop());
  await m.start();
  m.update(routers(host), {});
  await m.whenIdle();
  return m;
}

function dnsResolver(p: Pebble, extra: Partial<CertResolverConfig['acme']> = {}): Partial<CertResolverConfig['acme']> {
  return {
    caServer: p.directoryUrl,
    caCertificates: [p.caCertPath],
    dnsChallenge: { provider: 'cloudflare', resolvers: [p.dnsServer] },
    ...extra,
  };
}

describe('External Account Binding (pebble requiring it)', () => {
  test('a registration with eab succeeds; one without fails and says EAB is required', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv')) return;
    const hmac = randomBytes(32).toString('base64url');
    const { pebble, cf } = await pebbleWithDns({ eab: { 'kid-1': hmac } });
    const env = { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url };
    const ok = await issue(dnsResolver(pebble, { eab: { kid: 'kid-1', hmacEncoded: hmac } }), env, 'eab.example.com');
    assert.equal(ok.status()[0]?.state, 'valid', ok.status()[0]?.lastError);
    assert.equal(pebble.accounts(), 1);
    const without = await issue(dnsResolver(pebble), env, 'noeab.example.com');
    assert.equal(without.status()[0]?.state, 'failed', JSON.stringify(without.status()));
    assert.match(
      without.status()[0]?.lastError ?? '',
      /externalAccountRequired.*set acme\.eab\.kid and acme\.eab\.hmacEncoded|External Account Binding/,
    );
    const wrong = await issue(
      dnsResolver(pebble, { eab: { kid: 'kid-1', hmacEncoded: randomBytes(32).toString('base64url') } }),
      env,
      'wrong.example.com',
    );
    assert.equal(wrong.status()[0]?.state, 'failed');
    assert.match(wrong.status()[0]?.lastError ?? '', /account registration .* failed/);
  });
});

describe('CA connection and chain options', () => {
  test('preferredChain picks the alternate chain whose root has that name', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv')) return;
    const { pebble, cf } = await pebbleWithDns({ alternateRoots: 1 });
    const alt = new X509Certificate((await pebble.roots(1)).root);
    const cn = /CN=([^\n,]+)/.exec(alt.subject)?.[1] ?? '';
    const env = { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url };
    const m = await issue(dnsResolver(pebble, { preferredChain: cn }), env, 'chain.example.com');
    assert.equal(m.status()[0]?.state, 'valid', m.status()[0]?.lastError);
    const doc = JSON.parse(readFileSync(readStoragePath(m), 'utf8')) as Record<
      string,
      { Certificates: { certificate: string }[] }
    >;
    const pems =
      Buffer.from(doc['le']!.Certificates[0]!.certificate, 'base64')
        .toString()
        .match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    const top = new X509Certificate(pems.at(-1)!);
    assert.match(top.issuer, new RegExp(`CN=${cn}`));
  });

  test('caServerName: a CA whose certificate names another host is trusted under that name only', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv')) return;
    const { pebble, cf } = await pebbleWithDns({ serverName: 'acme.internal.test' });
    const env = { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url };
    const without = await issue(dnsResolver(pebble), env, 'sni1.example.com');
    assert.equal(without.status()[0]?.state, 'failed', JSON.stringify(without.status()));
    assert.match(without.status()[0]?.lastError ?? '', /cannot reach .*(ERR_TLS_CERT_ALTNAME_INVALID|IP)/);
    const withName = await issue(dnsResolver(pebble, { caServerName: 'acme.internal.test' }), env, 'sni2.example.com');
    assert.equal(withName.status()[0]?.state, 'valid', withName.status()[0]?.lastError);
  });

  test('profile: sent with the order; a CA that advertises no profiles is said so', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv')) return;
    const { pebble, cf } = await pebbleWithDns();
    const { logger, lines } = logCapture();
    const m = await issue(
      dnsResolver(pebble, { profile: 'shortlived' }),
      { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      'profile.example.com',
      logger,
    );
    assert.equal(m.status()[0]?.state, 'valid', m.status()[0]?.lastError);
    assert.ok(lines.some((l) => /advertises no certificate profiles/.test(l) && /shortlived/.test(l)));
    assert.ok(lines.some((l) => /ordering certificate/.test(l) && /"profile":"shortlived"/.test(l)));
  });
});

describe('DNS-01 providers end to end (pebble validates)', () => {
  test('rfc2136: pebble validates against Knot, the TXT records are removed afterwards', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv', 'knotd')) return;
    const knot = await startKnot({ 'example.com': [] });
    cleanups.push(() => knot.stop());
    const pebble = await startPebble({ dnsServer: knot.server });
    cleanups.push(() => pebble.stop());
    const env = {
      RFC2136_NAMESERVER: knot.server,
      RFC2136_TSIG_KEY: knot.keyName,
      RFC2136_TSIG_SECRET: knot.secret,
      RFC2136_TSIG_ALGORITHM: 'hmac-sha256',
    };
    const m = await issue(
      {
        caServer: pebble.directoryUrl,
        caCertificates: [pebble.caCertPath],
        dnsChallenge: {
          provider: 'rfc2136',
          resolvers: [knot.server],
          propagation: { disableANSChecks: true, requireAllRNS: true },
        },
      },
      env,
      'knot.example.com',
    );
    assert.equal(m.status()[0]?.state, 'valid', m.status()[0]?.lastError);
    assert.deepEqual([...(m.status()[0]?.names ?? [])].sort(), ['*.example.com', 'knot.example.com']);
    assert.equal(pebble.orders(), 1);
    assert.deepEqual(await knot.txt('_acme-challenge.knot.example.com'), []);
    assert.deepEqual(await knot.txt('_acme-challenge.example.com'), []);
  });

  test('exec: a hook script publishes the records pebble validates', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv', 'curl')) return;
    const pebble = await startPebble();
    cleanups.push(() => pebble.stop());
    const script = writeExecScript(tempDir('berth-exec-e2e-'));
    const m = await issue(
      dnsResolver(pebble, { dnsChallenge: { provider: 'exec', resolvers: [pebble.dnsServer] } }),
      { EXEC_PATH: script.path, CHALLTESTSRV: pebble.challtestsrvUrl, PATH: process.env['PATH'] ?? '' },
      'exec.example.com',
    );
    assert.equal(m.status()[0]?.state, 'valid', m.status()[0]?.lastError);
    assert.equal(readFileSync(script.records, 'utf8'), '', 'every record cleaned up');
  });

  test('httpreq: an HTTP endpoint publishes the records pebble validates', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv')) return;
    const pebble = await startPebble();
    cleanups.push(() => pebble.stop());
    const ep = await startHttpReqEndpoint({ challtestsrv: pebble.challtestsrvUrl, username: 'u', password: 'p' });
    cleanups.push(() => ep.close());
    const m = await issue(
      dnsResolver(pebble, { dnsChallenge: { provider: 'httpreq', resolvers: [pebble.dnsServer] } }),
      { HTTPREQ_ENDPOINT: ep.url, HTTPREQ_USERNAME: 'u', HTTPREQ_PASSWORD: 'p' },
      'httpreq.example.com',
    );
    assert.equal(m.status()[0]?.state, 'valid', m.status()[0]?.lastError);
    assert.deepEqual(ep.seen.map((s) => s.path).sort(), ['/cleanup', '/cleanup', '/present', '/present']);
    assert.deepEqual([...ep.book.records.values()].flat(), []);
  });
});

describe('acme-dns: CNAME delegation end to end', () => {
  test('the first order registers and names the CNAME; once it exists pebble validates through it', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv')) return;
    const pebble = await startPebble();
    cleanups.push(() => pebble.stop());
    const server = await startAcmeDnsServer({ challtestsrv: pebble.challtestsrvUrl });
    cleanups.push(() => server.close());
    const accounts = join(dir, 'acme-dns-accounts.json');
    const m = new CertificateManager({
      logger: pino({ level: 'silent' }),
      env: { ACME_DNS_API_BASE: server.url, ACME_DNS_STORAGE_PATH: accounts },
      store: new CertificateStore(),
      resolvers: {
        le: {
          acme: {
            storage: join(dir, 'acme-dns.json'),
            caServer: pebble.directoryUrl,
            caCertificates: [pebble.caCertPath],
            dnsChallenge: { provider: 'acme-dns', resolvers: [pebble.dnsServer] },
          },
        },
      },
      backoff: { initialMs: 200, maxMs: 400 },
      propagationTimeoutMs: 10_000,
      propagationIntervalMs: 100,
    });
    cleanups.push(() => m.stop());
    await m.start();
    m.update(
      {
        http: {
          routers: {
            d: {
              rule: 'Host(`delegated.example.com`)',
              service: 's',
              tls: { certResolver: 'le', domains: [{ main: 'delegated.example.com' }] },
            },
          },
        },
      },
      {},
    );
    await m.whenIdle();
    assert.match(
      m.status()[0]?.lastError ?? '',
      /create the DNS record "_acme-challenge\.delegated\.example\.com\. CNAME [0-9a-f]+\.auth\.example\.org\."/,
    );
    const target = (JSON.parse(readFileSync(accounts, 'utf8')) as Record<string, { fulldomain: string }>)[
      'delegated.example.com'
    ]!.fulldomain;
    // The operator creates the CNAME; the next attempt validates through it.
    await fetch(`${pebble.challtestsrvUrl}/set-cname`, {
      method: 'POST',
      body: JSON.stringify({ host: '_acme-challenge.delegated.example.com.', target: `${target}.` }),
      signal: timeoutSignal(15_000, 'challtestsrv /set-cname'),
    });
    await waitUntil(() => m.status()[0]?.state === 'valid', 'the order through the delegated name', 20_000, 50);
    assert.equal(server.registrations(), 1);
    assert.equal(server.book.values(`${target}.`).length, 1);
  });
});

function readStoragePath(m: CertificateManager): string {
  return m.storageStatus()[0]!.storage;
}
