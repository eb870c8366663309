import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { needTools } from '../helpers/tools.ts';
import { waitUntil } from '../helpers/net.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import { tempDir } from '../helpers/temp.ts';
import { Fleet } from '../../src/fleet/fleet.ts';
import { CertificateManager } from '../../src/acme/certificate-manager.ts';
import { CertificateStore } from '../../src/tls/certificate-store.ts';
import type { Logger } from '../../src/lib/logger.ts';

const DAY = 86_400_000;

/** With Redis unreachable a host orders nothing new, except a certificate about to expire. */
describe('fleet outage: only certificates expiring within 7 days are ordered, locally', () => {
  let pebble: Pebble | undefined;
  let cf: CloudflareEmulator;
  let redis: RedisProcess;
  const stops: (() => Promise<void>)[] = [];
  const dir = tempDir('berth-fleet-outage-');
  const cache = join(dir, 'acme.json');

  before(async () => {
    pebble = await startPebble().catch(() => undefined);
    if (!pebble) return;
    cf = await startCloudflareEmulator({ challtestsrv: pebble.challtestsrvUrl });
    cf.addZone('example.com');
    redis = await startRedis();
  });
  after(async () => {
    for (const s of stops.reverse()) await s();
    await redis?.kill();
    await pebble?.stop();
    await cf?.close();
  });

  async function manager(
    fleet: Fleet,
    shiftMs: number,
    logger: Logger = pino({ level: 'silent' }),
  ): Promise<CertificateManager> {
    const p = pebble!;
    const m = new CertificateManager({
      logger,
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      store: new CertificateStore(),
      now: () => Date.now() + shiftMs,
      resolvers: {
        le: {
          acme: {
            storage: cache,
            caServer: p.directoryUrl,
            caCertificates: [p.caCertPath],
            dnsChallenge: { provider: 'cloudflare', resolvers: [p.dnsServer] },
          },
        },
      },
      storageFactory: (path) => fleet.acmeStorage(path),
      relay: fleet.relay,
      backoff: { initialMs: 3_600_000 },
      propagationIntervalMs: 100,
    });
    stops.push(() => m.stop());
    await m.start();
    m.update(
      { http: { routers: { app: { rule: 'Host(`near.example.com`)', service: 's', tls: { certResolver: 'le' } } } } },
      {},
    );
    await m.whenIdle();
    return m;
  }

  test('a certificate 20 days from expiry waits for Redis; one 5 days from expiry is renewed locally and said so', async (t) => {
    if (!needTools(t, 'pebble', 'pebble-challtestsrv', 'redis-server')) return;
    const fleet = await Fleet.start(
      { redis: redis.url, node: 'edge-a', leaseDuration: '2s', syncInterval: '60s' },
      pino({ level: 'silent' }),
    );
    stops.push(() => fleet.stop());
    const first = await manager(fleet, 0);
    assert.equal(first.status()[0]?.state, 'valid', first.status()[0]?.lastError);
    await first.stop();
    const doc = JSON.parse(readFileSync(cache, 'utf8')) as Record<string, { Certificates: { certificate: string }[] }>;
    const notAfter = new Date(
      new X509Certificate(Buffer.from(doc['le']!.Certificates[0]!.certificate, 'base64')).validTo,
    ).getTime();

    await redis.kill();
    await waitUntil(() => !fleet.status().connected, 'the fleet to lose Redis');
    const orders = pebble!.orders();
    const waiting = await manager(fleet, notAfter - Date.now() - 20 * DAY);
    assert.equal(pebble!.orders(), orders, 'not renewed without the fleet');
    assert.equal(waiting.status()[0]?.state, 'renewing');
    assert.match(waiting.status()[0]?.lastError ?? '', /waiting for the fleet storage/);
    await waiting.stop();

    const lines: string[] = [];
    const urgent = await manager(
      fleet,
      notAfter - Date.now() - 5 * DAY,
      pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) }),
    );
    assert.equal(pebble!.orders() - orders, 1, 'renewed locally');
    assert.ok(
      lines.some((l) => /renewing it locally, without a fleet lease/.test(l) && /"expiresInDays":5/.test(l)),
      lines.join('\n'),
    );
    assert.equal(urgent.status()[0]?.state, 'valid');
    assert.match(
      urgent.status()[0]?.lastError ?? '',
      /not stored in redis fleet/,
      'kept locally until Redis returns, and shown',
    );
  });
});
