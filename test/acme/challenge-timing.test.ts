import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as packet from 'dns-packet';
import { pino } from 'pino';
import { CertificateManager } from '../../src/acme/certificate-manager.ts';
import type { CertResolverConfig } from '../../src/config/static/types.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import { exchange, parseServer } from '../../src/dns/dns-client.ts';
import { CertificateStore } from '../../src/tls/certificate-store.ts';
import { ACME_TLS_ALPN, tlsServerOptions } from '../../src/tls/options.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { freePort } from '../helpers/net.ts';
import { startPebble, type Pebble, type PebbleRequest } from '../helpers/pebble.ts';
import { tempDir } from '../helpers/temp.ts';
import { hasTool, requireIntegration } from '../helpers/tools.ts';

/**
 * When berth asks the CA to validate, against a real pebble: `dnsChallenge.propagation.*` (and
 * the deprecated spellings), `httpChallenge.delay`, `tlsChallenge.delay`. Every component records
 * its events with `performance.now()` in this process (the Cloudflare emulator when a TXT record
 * was created, a DNS forwarder in front of challtestsrv each propagation query, pebble's proxy
 * each ACME request, the challenge listeners each validation), and the tests assert their order.
 * A delay is shown as a lower bound between two events (300 ms configured, at least 240 ms
 * required), which load can only lengthen.
 */

const DELAY_MS = 300;
const AT_LEAST_MS = 240;

const dir = tempDir('berth-acme-timing-');
const quiet = pino({ level: 'silent' });

function routers(host: string): DynamicConfig {
  return { http: { routers: { [host]: { rule: `Host(\`${host}\`)`, service: 'svc', tls: { certResolver: 'le' } } } } };
}

/** A DNS forwarder to `upstream` that records each question (name without the final dot, type, time). */
async function dnsForwarder(
  upstream: string,
): Promise<{ server: string; queries: { name: string; type: string; at: number }[]; close(): Promise<void> }> {
  const target = parseServer(upstream);
  const queries: { name: string; type: string; at: number }[] = [];
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    try {
      const q = packet.decode(msg).questions?.[0];
      if (q) queries.push({ name: q.name.toLowerCase().replace(/\.$/, ''), type: q.type, at: performance.now() });
    } catch {
      // not a DNS message: forwarded as is
    }
    exchange(target, msg, { timeoutMs: 2000 }).then(
      (answer) => sock.send(answer, rinfo.port, rinfo.address),
      () => undefined,
    );
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    server: `127.0.0.1:${sock.address().port}`,
    queries,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

/** The first `completeChallenge` (POST /chalZ/) and the end of the authorisation fetched just before it. */
function validationAsked(requests: readonly PebbleRequest[]): { authzDone: number; challengeAt: number } {
  const i = requests.findIndex((r) => r.method === 'POST' && r.path.startsWith('/chalZ/'));
  assert.ok(i > 0, 'the CA was asked to validate');
  const authz = requests.slice(0, i).findLast((r) => r.path.startsWith('/authZ/'));
  assert.ok(authz, 'the authorisation was fetched first');
  return { authzDone: authz.done, challengeAt: requests[i]!.at };
}

describe('challenge timing against pebble', { timeout: 120_000 }, () => {
  let pebble: Pebble | undefined;
  let cf: CloudflareEmulator;
  let dns: Awaited<ReturnType<typeof dnsForwarder>>;
  let httpServer: HttpServer;
  let tlsServer: TlsServer;
  const current: { manager?: CertificateManager; store: CertificateStore } = { store: new CertificateStore() };
  /** `performance.now()` of each validation that reached the challenge listeners. */
  const validations: { type: 'http-01' | 'tls-alpn-01'; at: number }[] = [];
  const managers: CertificateManager[] = [];
  let skip = false;

  before(async () => {
    if (!hasTool('pebble') || !hasTool('pebble-challtestsrv')) {
      if (requireIntegration) throw new Error('pebble is required');
      skip = true;
      return;
    }
    const [httpPort, tlsPort] = [await freePort(), await freePort()];
    httpServer = createHttpServer((req, res) => {
      if (req.url?.startsWith('/.well-known/acme-challenge/'))
        validations.push({ type: 'http-01', at: performance.now() });
      if (!current.manager?.http01(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => httpServer.listen(httpPort, '127.0.0.1', r));
    tlsServer = createTlsServer(
      {
        SNICallback(this: TLSSocket, n, cb) {
          tlsServerOptions(current.store).SNICallback.call(this, n, cb);
        },
        ALPNCallback: (a) => {
          if (a.protocols.includes(ACME_TLS_ALPN)) validations.push({ type: 'tls-alpn-01', at: performance.now() });
          return tlsServerOptions(current.store).ALPNCallback(a);
        },
      },
      (s) => s.end(),
    );
    await new Promise<void>((r) => tlsServer.listen(tlsPort, '127.0.0.1', r));
    pebble = await startPebble({ httpPort, tlsPort });
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    dns = await dnsForwarder(pebble.dnsServer);
  });

  after(async () => {
    for (const m of managers) m.stop();
    await pebble?.stop();
    if (skip) return;
    await cf.close();
    await dns.close();
    await new Promise<void>((r) => httpServer.close(() => r()));
    await new Promise<void>((r) => tlsServer.close(() => r()));
  });

  /** Orders a certificate for `host` with `acme` and returns the manager once it is idle. */
  async function issue(acme: Partial<CertResolverConfig['acme']>, host: string): Promise<CertificateManager> {
    const store = new CertificateStore();
    const m = new CertificateManager({
      logger: quiet,
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      store,
      backoff: { initialMs: 3_600_000 },
      propagationTimeoutMs: 10_000,
      propagationIntervalMs: 100,
      resolvers: {
        le: {
          acme: {
            storage: join(dir, `${randomBytes(4).toString('hex')}.json`),
            caServer: pebble!.directoryUrl,
            caCertificates: [pebble!.caCertPath],
            ...acme,
          },
        },
      },
    });
    managers.push(m);
    current.manager = m;
    current.store = store;
    await m.start();
    m.update(routers(host), {});
    await m.whenIdle();
    assert.equal(m.status()[0]?.state, 'valid', m.status()[0]?.lastError);
    return m;
  }

  const dnsCases: {
    desc: string;
    dnsChallenge: Partial<NonNullable<CertResolverConfig['acme']['dnsChallenge']>>;
    delay: boolean;
    checks: boolean;
  }[] = [
    {
      desc: 'no option: the record is checked on the resolver as soon as it is created',
      dnsChallenge: {},
      delay: false,
      checks: true,
    },
    {
      desc: 'propagation.delayBeforeChecks: the first check waits that long after the record is created',
      dnsChallenge: { propagation: { delayBeforeChecks: `${DELAY_MS}ms` } },
      delay: true,
      checks: true,
    },
    {
      desc: 'delayBeforeCheck (deprecated spelling): the same wait',
      dnsChallenge: { delayBeforeCheck: `${DELAY_MS}ms` },
      delay: true,
      checks: true,
    },
    {
      desc: 'propagation.disableChecks: no TXT query reaches the resolver, the CA is asked at once',
      dnsChallenge: { propagation: { disableChecks: true } },
      delay: false,
      checks: false,
    },
    {
      desc: 'disablePropagationCheck (deprecated spelling): no TXT query either',
      dnsChallenge: { disablePropagationCheck: true },
      delay: false,
      checks: false,
    },
    {
      desc: 'delayBeforeChecks with disableChecks: the CA is asked after the delay, without a check',
      dnsChallenge: { propagation: { delayBeforeChecks: `${DELAY_MS}ms`, disableChecks: true } },
      delay: true,
      checks: false,
    },
  ];
  for (const [i, c] of dnsCases.entries()) {
    test(`DNS-01, ${c.desc}`, async (t) => {
      if (skip) return t.skip('pebble not installed');
      const host = `dns${i}.example.com`;
      const [fromCf, fromDns, fromCa] = [cf.answered.length, dns.queries.length, pebble!.requests().length];
      await issue({ dnsChallenge: { provider: 'cloudflare', resolvers: [dns.server], ...c.dnsChallenge } }, host);
      const created = cf.answered
        .slice(fromCf)
        .filter((a) => a.created !== undefined)
        .map((a) => ({ name: a.created!.toLowerCase().replace(/\.$/, ''), at: a.at }));
      assert.deepEqual(
        created.map((r) => r.name).sort(),
        [`_acme-challenge.${host}`, '_acme-challenge.example.com'].sort(),
        'one TXT record per name (the host and the zone wildcard)',
      );
      const txtQueries = dns.queries.slice(fromDns).filter((q) => q.type === 'TXT');
      const { authzDone, challengeAt } = validationAsked(pebble!.requests().slice(fromCa));
      const firstCreated = Math.min(...created.map((r) => r.at));
      assert.ok(challengeAt > firstCreated, 'the CA is asked after the records exist');
      if (c.checks) {
        for (const r of created) {
          const first = txtQueries.find((q) => q.name === r.name && q.at > r.at);
          assert.ok(first, `${r.name} was checked on the resolver`);
          if (c.delay)
            assert.ok(
              first.at - r.at >= AT_LEAST_MS,
              `${r.name}: first check ${Math.round(first.at - r.at)} ms after the record was created`,
            );
        }
        assert.ok(Math.min(...txtQueries.map((q) => q.at)) < challengeAt, 'a check ran before the CA was asked');
      } else {
        assert.deepEqual(txtQueries, [], 'no propagation check');
      }
      if (c.delay)
        assert.ok(
          challengeAt - firstCreated >= AT_LEAST_MS,
          `CA asked ${Math.round(challengeAt - firstCreated)} ms after the first record`,
        );
      assert.ok(challengeAt > authzDone);
    });
  }

  const localCases: {
    desc: string;
    type: 'http-01' | 'tls-alpn-01';
    acme: Partial<CertResolverConfig['acme']>;
    delay: boolean;
  }[] = [
    {
      desc: 'HTTP-01 without delay: presented, then validated',
      type: 'http-01',
      acme: { httpChallenge: { entryPoint: 'web' } },
      delay: false,
    },
    {
      desc: 'httpChallenge.delay: the CA is asked that long after the answer is presented',
      type: 'http-01',
      acme: { httpChallenge: { entryPoint: 'web', delay: `${DELAY_MS}ms` } },
      delay: true,
    },
    {
      desc: 'TLS-ALPN-01 without delay: presented, then validated',
      type: 'tls-alpn-01',
      acme: { tlsChallenge: {} },
      delay: false,
    },
    {
      desc: 'tlsChallenge.delay: the CA is asked that long after the challenge certificate is installed',
      type: 'tls-alpn-01',
      acme: { tlsChallenge: { delay: `${DELAY_MS}ms` } },
      delay: true,
    },
  ];
  for (const [i, c] of localCases.entries()) {
    test(c.desc, async (t) => {
      if (skip) return t.skip('pebble not installed');
      const [fromCa, fromValidation] = [pebble!.requests().length, validations.length];
      await issue(c.acme, `local${i}.example.net`);
      const { authzDone, challengeAt } = validationAsked(pebble!.requests().slice(fromCa));
      const seen = validations.slice(fromValidation).filter((v) => v.type === c.type);
      assert.ok(seen.length > 0 && seen.every((v) => v.at > challengeAt), 'pebble validated only after it was asked');
      if (c.delay)
        assert.ok(
          challengeAt - authzDone >= AT_LEAST_MS,
          `CA asked ${Math.round(challengeAt - authzDone)} ms after the authorisation was fetched`,
        );
      else assert.ok(challengeAt > authzDone);
    });
  }
});
