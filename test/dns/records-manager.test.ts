import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { CloudflareDns, cloudflareToken, retryAfterMs } from '../../src/dns/cloudflare.ts';
import { DnsRecordsManager } from '../../src/dns/records-manager.ts';
import { BerthError, ErrorCodes } from '../../src/lib/errors.ts';
import { tempDir } from '../helpers/temp.ts';

describe('CloudflareDns against the emulator', () => {
  let cf: CloudflareEmulator;
  before(async () => {
    cf = await startCloudflareEmulator();
    cf.addZone('example.com');
    cf.addZone('deep.example.com');
  });
  after(() => cf.close());

  const dns = () =>
    new CloudflareDns({ env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url }, maxRetries: 0 });

  const zoneCases = [
    { desc: 'apex', name: 'example.com', zone: 'example.com' },
    { desc: 'sub-domain', name: '_acme-challenge.app.example.com', zone: 'example.com' },
    { desc: 'longest suffix wins', name: '_acme-challenge.x.deep.example.com', zone: 'deep.example.com' },
    { desc: 'case and trailing dot', name: 'A.Deep.Example.COM.', zone: 'deep.example.com' },
  ];
  for (const c of zoneCases) {
    test(`zone: ${c.desc}`, async () => {
      assert.equal((await dns().findZone(c.name)).name, c.zone);
    });
  }

  test('no zone is a DNS_PROVIDER error', async () => {
    await assert.rejects(
      dns().findZone('example.org'),
      (e: unknown) => e instanceof BerthError && e.code === ErrorCodes.DNS_PROVIDER,
    );
  });

  test('a wrong token is a clear DNS_PROVIDER error', async () => {
    const bad = new CloudflareDns({ env: { CF_DNS_API_TOKEN: 'wrong', CLOUDFLARE_BASE_URL: cf.url }, maxRetries: 0 });
    await assert.rejects(
      bad.findZone('example.com'),
      (e: unknown) =>
        e instanceof BerthError && e.code === ErrorCodes.DNS_PROVIDER && /403.*token rejected/.test(e.message),
    );
  });

  test('429 carries Retry-After to the caller', async () => {
    cf.failNext(1, 429, 7);
    const err = await dns()
      .findZone('other.example.com')
      .catch((e: unknown) => e);
    assert.ok(err instanceof BerthError);
    assert.equal(retryAfterMs(err), 7000);
  });

  test('the SDK retries a transient 5xx by itself', async () => {
    cf.failNext(1, 503, 0);
    const d = new CloudflareDns({ env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url }, maxRetries: 2 });
    assert.equal((await d.findZone('retry.example.com')).name, 'example.com');
  });

  test('record CRUD with name and type filters', async () => {
    const d = dns();
    const zone = await d.findZone('crud.example.com');
    const created = await d.createRecord(zone.id, {
      type: 'TXT',
      name: '_acme-challenge.crud.example.com',
      content: 'v1',
    });
    assert.equal((await d.listRecords(zone.id, { type: 'TXT', name: '_acme-challenge.crud.example.com' })).length, 1);
    assert.equal((await d.listRecords(zone.id, { type: 'A', name: '_acme-challenge.crud.example.com' })).length, 0);
    const updated = await d.updateRecord(zone.id, created.id, { type: 'TXT', name: created.name, content: 'v2' });
    assert.equal(updated.content, 'v2');
    await d.deleteRecord(zone.id, created.id);
    assert.equal((await d.listRecords(zone.id, { name: '_acme-challenge.crud.example.com' })).length, 0);
  });
});

describe('cloudflareToken', () => {
  const dir = tempDir('berth-cf-');
  writeFileSync(join(dir, 'token'), 'from-file\n');
  writeFileSync(join(dir, 'empty'), '\n');
  const cases = [
    { desc: 'variable', env: { CF_DNS_API_TOKEN: 'abc' }, want: 'abc' },
    { desc: 'file', env: { CF_DNS_API_TOKEN_FILE: join(dir, 'token') }, want: 'from-file' },
    {
      desc: 'variable wins over file',
      env: { CF_DNS_API_TOKEN: 'abc', CF_DNS_API_TOKEN_FILE: join(dir, 'token') },
      want: 'abc',
    },
    { desc: 'missing', env: {}, want: /no API token/ },
    { desc: 'unreadable file', env: { CF_DNS_API_TOKEN_FILE: join(dir, 'nope') }, want: /cannot read/ },
    { desc: 'empty file', env: { CF_DNS_API_TOKEN_FILE: join(dir, 'empty') }, want: /is empty/ },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      if (typeof c.want === 'string') assert.equal(cloudflareToken(c.env), c.want);
      else
        assert.throws(
          () => cloudflareToken(c.env),
          (e: unknown) =>
            e instanceof BerthError && e.code === ErrorCodes.DNS_PROVIDER && (c.want as RegExp).test(e.message),
        );
    });
  }
});

describe('DnsRecordsManager', () => {
  let cf: CloudflareEmulator;
  before(async () => {
    cf = await startCloudflareEmulator();
    cf.addZone('example.com');
  });
  after(() => cf.close());

  test('creates host records once, then changes nothing; an IP change updates; repositories added', async () => {
    const provider = new CloudflareDns({
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      maxRetries: 0,
    });
    const m = new DnsRecordsManager({ provider });
    const id = {
      machineName: 'server-1',
      baseDomain: 'example.com',
      publicIPv4: '203.0.113.10',
      publicIPv6: '2001:db8::10',
    };
    const first = await m.ensureHostRecords(id);
    assert.deepEqual(first.map((c) => `${c.action} ${c.type} ${c.name}`).sort(), [
      'created A *.server-1.example.com',
      'created A server-1.example.com',
      'created AAAA *.server-1.example.com',
      'created AAAA server-1.example.com',
    ]);
    assert.equal(cf.records().length, 4);

    cf.resetCounters();
    const second = await new DnsRecordsManager({ provider }).ensureHostRecords(id);
    assert.ok(second.every((c) => c.action === 'unchanged'));
    assert.equal(
      (cf.counters['POST'] ?? 0) +
        (cf.counters['PATCH'] ?? 0) +
        (cf.counters['PUT'] ?? 0) +
        (cf.counters['DELETE'] ?? 0),
      0,
      'a second run writes nothing',
    );

    const moved = await m.ensureHostRecords({ ...id, publicIPv4: '203.0.113.99' });
    assert.deepEqual(
      moved
        .filter((c) => c.action === 'updated')
        .map((c) => c.name)
        .sort(),
      ['*.server-1.example.com', 'server-1.example.com'],
    );
    assert.deepEqual(
      cf.records('A').map((r) => r.content),
      ['203.0.113.99', '203.0.113.99'],
    );
    assert.equal(cf.records().length, 4, 'updated in place, no duplicates');

    const repo = await m.ensureRepository('marketing');
    assert.deepEqual(
      repo.map((c) => `${c.action} ${c.type} ${c.name}`),
      ['created A *.marketing.server-1.example.com', 'created AAAA *.marketing.server-1.example.com'],
    );
    cf.resetCounters();
    assert.deepEqual(await m.ensureRepository('marketing'), []);
    assert.equal(cf.log.length, 0);
  });

  test('only configured families get records', async () => {
    const provider = new CloudflareDns({
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      maxRetries: 0,
    });
    const changes = await new DnsRecordsManager({ provider }).ensureHostRecords({
      machineName: 'v4only',
      baseDomain: 'example.com',
      publicIPv4: '198.51.100.1',
    });
    assert.deepEqual(
      changes.map((c) => c.type),
      ['A', 'A'],
    );
  });

  test('ensureRepository before ensureHostRecords is refused', async () => {
    const provider = new CloudflareDns({
      env: { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url },
      maxRetries: 0,
    });
    await assert.rejects(new DnsRecordsManager({ provider }).ensureRepository('x'));
  });
});
