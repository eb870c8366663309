import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { startRedis, type RedisProcess } from '../helpers/redis.ts';
import { tempDir } from '../helpers/temp.ts';
import { waitUntil } from '../helpers/net.ts';
import { Fleet } from '../../src/fleet/fleet.ts';
import {
  StaleLeaseError,
  type AcmeCertificateRecord,
  type AcmeStorage,
  type AcmeStore,
} from '../../src/acme/storage.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';

const quiet = pino({ level: 'silent' });
const DAY = 86_400_000;

function record(main: string, days = 90): AcmeCertificateRecord {
  const c = buildCertificate({
    commonName: main,
    dnsNames: [main],
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + days * DAY),
  });
  return {
    domain: { main },
    certificate: Buffer.from(c.cert).toString('base64'),
    key: Buffer.from(c.key).toString('base64'),
    Store: 'default',
  };
}

function doc(...recs: AcmeCertificateRecord[]): AcmeStore {
  return { le: { Account: null, Certificates: recs } };
}

/** Resolves at the next change notification of `s`. */
function nextChange(s: AcmeStorage): Promise<void> {
  return new Promise((resolve) => {
    const off = s.onChange!(() => {
      off();
      resolve();
    });
  });
}

describe('fleet storage on a real Redis', () => {
  let redis: RedisProcess | undefined;
  const fleets: Fleet[] = [];
  const dir = tempDir('berth-fleet-storage-');
  const keyFile = join(dir, 'fleet.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64'));

  before(async () => {
    if (!hasTool('redis-server')) {
      if (requireIntegration) throw new Error('redis-server is required');
      return;
    }
    redis = await startRedis();
  });
  after(async () => {
    for (const f of fleets) await f.stop();
    await redis?.kill();
  });

  async function host(
    node: string,
    extra: Record<string, string> = {},
  ): Promise<{ fleet: Fleet; storage: AcmeStorage; cache: string }> {
    const fleet = await Fleet.start(
      { redis: redis!.url, node, leaseDuration: '600ms', syncInterval: '60s', encryptionKeyFile: keyFile, ...extra },
      quiet,
    );
    fleets.push(fleet);
    const cache = join(dir, `${node}-${randomBytes(3).toString('hex')}.json`);
    return { fleet, storage: fleet.acmeStorage(cache), cache };
  }

  test('one lease per key: the second host is told who holds it and for how long; release hands it on with a newer token', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = await host('edge-a');
    const b = await host('edge-b');
    const first = await a.storage.lock!('le|one.example.com');
    assert.ok('lease' in first);
    const second = await b.storage.lock!('le|one.example.com');
    assert.ok(
      'heldBy' in second && second.heldBy === 'edge-a' && second.retryInMs > 0 && second.retryInMs <= 700,
      JSON.stringify(second),
    );
    assert.deepEqual(a.fleet.status().leases, ['le|one.example.com']);
    await first.lease.release();
    const third = await b.storage.lock!('le|one.example.com');
    assert.ok('lease' in third && third.lease.token > first.lease.token);
    await third.lease.release();
  });

  test('a certificate written under a lease reaches the other host at once; its key is encrypted in Redis', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = await host('edge-a');
    const b = await host('edge-b');
    await b.storage.read();
    const r = await a.storage.lock!('le|two.example.com');
    assert.ok('lease' in r);
    const rec = record('two.example.com');
    const seen = nextChange(b.storage);
    await a.storage.write(doc(rec), { resolver: 'le', certificate: 'two.example.com' }, r.lease);
    await r.lease.release();
    await seen;
    const got = (await b.storage.read())['le']?.Certificates?.find((c) => c.domain.main === 'two.example.com');
    assert.equal(got?.key, rec.key);
    const raw = await redis!.command('HGET', 'berth:acme:le:certs', 'two.example.com');
    const stored = JSON.parse(raw.split('\r\n')[1]!) as { record: AcmeCertificateRecord };
    assert.match(stored.record.key, /^berth-aes256gcm:/, 'the private key is encrypted in Redis');
    assert.doesNotMatch(raw, /PRIVATE KEY/);
    assert.ok(!raw.includes(rec.key));
    // Traefik's acme.json shape in the local cache, with the key in clear (mode 0600 file).
    const cached = JSON.parse(readFileSync(b.cache, 'utf8')) as AcmeStore;
    assert.equal(cached['le']?.Certificates?.find((c) => c.domain.main === 'two.example.com')?.key, rec.key);
  });

  test('fencing: a host whose lease expired and was taken cannot store its certificate', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = await host('edge-a');
    const b = await host('edge-b');
    const mine = await a.storage.lock!('le|three.example.com');
    assert.ok('lease' in mine);
    const lost = new Promise<void>((r) => mine.lease.signal.addEventListener('abort', () => r(), { once: true }));
    // A's lease runs out (its renewals never reach Redis: the key is gone) and B takes it.
    await redis!.command('DEL', 'berth:lease:le|three.example.com');
    const theirs = await b.storage.lock!('le|three.example.com');
    assert.ok('lease' in theirs);
    await lost;
    await assert.rejects(
      a.storage.write(
        doc(record('three.example.com')),
        { resolver: 'le', certificate: 'three.example.com' },
        mine.lease,
      ),
      StaleLeaseError,
    );
    await b.storage.write(
      doc(record('three.example.com')),
      { resolver: 'le', certificate: 'three.example.com' },
      theirs.lease,
    );
    assert.match(await redis!.command('HGET', 'berth:acme:le:certs', 'three.example.com'), /"node":"edge-b"/);
    await theirs.lease.release();
  });

  test('Redis down: reads come from the local cache, writes are kept and pushed when it returns (empty, no persistence)', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = await host('edge-a');
    const b = await host('edge-b');
    const before = record('four.example.com');
    const r = await a.storage.lock!('le|four.example.com');
    assert.ok('lease' in r);
    await a.storage.write(doc(before), { resolver: 'le', certificate: 'four.example.com' }, r.lease);
    await r.lease.release();
    await a.storage.read();
    await redis!.kill();
    await waitUntil(() => !a.fleet.status().connected, 'the fleet to notice');
    const local = await a.storage.read();
    assert.ok(
      local['le']?.Certificates?.some((c) => c.domain.main === 'four.example.com'),
      'served from the local acme.json',
    );
    const lock = await a.storage.lock!('le|five.example.com');
    assert.ok('unavailable' in lock);
    const during = record('five.example.com');
    const d = structuredClone(local);
    d['le']!.Certificates!.push(during);
    await assert.rejects(a.storage.write(d, { resolver: 'le', certificate: 'five.example.com' }));
    assert.ok(
      (JSON.parse(readFileSync(a.cache, 'utf8')) as AcmeStore)['le']?.Certificates?.some(
        (c) => c.domain.main === 'five.example.com',
      ),
      'stored locally meanwhile',
    );
    await redis!.restart();
    await waitUntil(() => a.fleet.status().connected && b.fleet.status().connected, 'reconnection', 15_000);
    await a.storage.read();
    const fresh = await b.storage.read();
    const names = fresh['le']?.Certificates?.map((c) => c.domain.main) ?? [];
    assert.ok(
      names.includes('four.example.com') && names.includes('five.example.com'),
      `pushed back: ${names.join(', ')}`,
    );
  });

  test('an older certificate never replaces a newer one during catch-up', async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const a = await host('edge-a');
    const b = await host('edge-b');
    const newer = record('six.example.com', 90);
    const older = record('six.example.com', 30);
    await a.storage.write(doc(newer), { resolver: 'le', certificate: 'six.example.com' });
    await b.storage.write(doc(older), { resolver: 'le', certificate: 'six.example.com' });
    const got = (await a.storage.read())['le']?.Certificates?.find((c) => c.domain.main === 'six.example.com');
    assert.equal(got?.certificate, newer.certificate);
  });
});
