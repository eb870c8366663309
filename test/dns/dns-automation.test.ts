import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { CloudflareDns } from '../../src/dns/cloudflare.ts';
import { DnsAutomation } from '../../src/dns/dns-automation.ts';
import { Backoff } from '../../src/lib/backoff.ts';
import { logger } from '../../src/lib/logger.ts';
import { waitUntil } from '../helpers/net.ts';

describe('DnsAutomation against the Cloudflare emulator', () => {
  let cf: CloudflareEmulator;
  const running: DnsAutomation[] = [];
  before(async () => {
    cf = await startCloudflareEmulator();
    cf.addZone('example.com');
  });
  after(async () => {
    for (const a of running) a.stop();
    await cf.close();
  });

  /** An automation with fast retries and no retries inside the SDK, so every answer is one attempt. */
  function automation(machineName: string, provider?: () => CloudflareDns): DnsAutomation {
    const a = new DnsAutomation({
      provider:
        provider ??
        (() => new CloudflareDns({ env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url }, maxRetries: 0 })),
      identity: { machineName, baseDomain: 'example.com', publicIPv4: '203.0.113.10' },
      logger: logger('test'),
      backoff: new Backoff(5, 40),
    });
    running.push(a);
    return a;
  }
  const names = (machine: string): string[] =>
    cf
      .records('A')
      .filter((r) => r.name.endsWith(`${machine}.example.com`))
      .map((r) => `${r.name} ${r.content}`)
      .sort();

  test('machine records, then a repository wildcard; ok once in place', async () => {
    const a = automation('m1');
    a.start();
    a.setRepositories(['Marketing']);
    await a.settled();
    assert.deepEqual(names('m1'), [
      '*.m1.example.com 203.0.113.10',
      '*.marketing.m1.example.com 203.0.113.10',
      'm1.example.com 203.0.113.10',
    ]);
    const s = a.state();
    assert.equal(s.status, 'ok');
    assert.deepEqual(s.pending, []);
    assert.deepEqual(a.diagnostics(), []);
  });

  test('the first five answers fail: failing, retried with backoff, then in place', async () => {
    cf.failNext(5, 503);
    const a = automation('m2');
    const seen = new Set<string>();
    a.start();
    await waitUntil(
      () => {
        seen.add(a.state().status);
        return a.state().status === 'ok';
      },
      'records in place after the failures',
      10_000,
      2,
    );
    assert.ok(seen.has('failing'), `went through failing: ${[...seen].join(', ')}`);
    assert.deepEqual(names('m2'), ['*.m2.example.com 203.0.113.10', 'm2.example.com 203.0.113.10']);
    assert.equal(a.state().failures, 0, 'the count restarts after a success');
  });

  test('while failing: state and a diagnostic say what is missing and when the next attempt is', async () => {
    cf.failNext(1000, 500);
    const a = automation('m3');
    a.start();
    await waitUntil(() => a.state().failures >= 2, 'two failed attempts');
    const s = a.state();
    assert.equal(s.status, 'failing');
    assert.deepEqual(s.pending, ['m3.example.com', '*.m3.example.com']);
    assert.ok(s.nextAttemptAt !== undefined && s.error !== undefined);
    assert.match(a.diagnostics()[0]?.message ?? '', /DNS records not in place after \d+ attempt\(s\)/);
    cf.failNext(0, 500);
    await a.settled();
    assert.equal(a.state().status, 'ok');
  });

  test('Retry-After of a 429 is waited for', async () => {
    cf.failNext(1, 429, 1);
    const a = automation('m4');
    const t0 = Date.now();
    a.start();
    await waitUntil(() => a.state().status === 'failing', 'the 429');
    assert.ok(Date.parse(a.state().nextAttemptAt!) - t0 >= 1000, 'next attempt no sooner than Retry-After');
    await a.settled();
  });

  test('a provider that cannot be built yet (no token) is retried too', async () => {
    let tries = 0;
    const a = automation('m5', () => {
      if (++tries < 3) throw new Error('cloudflare: no API token');
      return new CloudflareDns({ env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url }, maxRetries: 0 });
    });
    a.start();
    await a.settled();
    assert.equal(tries, 3);
    assert.equal(names('m5').length, 2);
  });

  test('a new public address updates every record in place; the same one writes nothing', async () => {
    const a = automation('m6');
    a.start();
    a.setRepositories(['shop']);
    await a.settled();
    cf.resetCounters();
    a.setIdentity({ machineName: 'm6', baseDomain: 'example.com', publicIPv4: '203.0.113.10' });
    await a.settled();
    assert.equal(cf.log.length, 0, 'an unchanged identity costs no request');
    a.setIdentity({ machineName: 'm6', baseDomain: 'example.com', publicIPv4: '198.51.100.4' });
    await a.settled();
    assert.deepEqual(names('m6'), [
      '*.m6.example.com 198.51.100.4',
      '*.shop.m6.example.com 198.51.100.4',
      'm6.example.com 198.51.100.4',
    ]);
    assert.equal(cf.counters['POST'] ?? 0, 0, 'updated, not duplicated');
  });
});
