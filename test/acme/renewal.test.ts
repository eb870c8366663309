import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as acme from 'acme-client';
import { dueForRenewal, renewBefore, renewDurations } from '../../src/acme/renewal.ts';
import { createCsr } from '../../src/acme/csr.ts';

const H = 3_600_000;
const D = 24 * H;

describe("certificatesDuration → renew period and check interval (Traefik's table)", () => {
  const cases = [
    { desc: '1 year and more', hours: 365 * 24, period: 120 * D, interval: 7 * D },
    { desc: '90 days (default 2160)', hours: 2160, period: 30 * D, interval: D },
    { desc: '30 days', hours: 30 * 24, period: 10 * D, interval: 12 * H },
    { desc: '6 days (short-lived profile)', hours: 6 * 24, period: 2 * D, interval: 2 * H },
    { desc: '1 day', hours: 24, period: 6 * H, interval: 10 * 60_000 },
    { desc: 'under a day', hours: 1, period: 20 * 60_000, interval: 60_000 },
  ];
  for (const c of cases)
    test(c.desc, () => assert.deepEqual(renewDurations(c.hours), { periodMs: c.period, intervalMs: c.interval }));
});

describe('renewal window of a certificate', () => {
  const cases = [
    {
      desc: '90-day certificate, default duration: 30 days before expiry',
      lifetime: 90 * D,
      hours: 2160,
      before: 30 * D,
    },
    { desc: '6-day certificate configured as 144 h: 2 days', lifetime: 6 * D, hours: 144, before: 2 * D },
    { desc: '1-day certificate configured as 24 h: 6 hours', lifetime: D, hours: 24, before: 6 * H },
    { desc: '1-year certificate configured as 8760 h: 120 days', lifetime: 365 * D, hours: 8760, before: 120 * D },
    {
      desc: '6-day certificate under the default 2160: capped at a third, no renewal loop',
      lifetime: 6 * D,
      hours: 2160,
      before: 2 * D,
    },
    {
      desc: '90-day certificate configured as 24 h: renewed 6 h before expiry, as configured',
      lifetime: 90 * D,
      hours: 24,
      before: 6 * H,
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const cert = { notBefore: 0, notAfter: c.lifetime };
      assert.equal(renewBefore(cert, c.hours), c.before);
      assert.equal(dueForRenewal(cert, c.lifetime - c.before - 1, c.hours), false, 'not due just before the window');
      assert.equal(dueForRenewal(cert, c.lifetime - c.before, c.hours), true, 'due when the window opens');
    });
  }
});

describe('certificate requests', () => {
  const cases = [
    {
      desc: 'CN is the first name; every name a DNS SAN',
      opts: { names: ['a.example.com', '*.example.com'] },
      cn: 'a.example.com',
      sans: ['a.example.com', '*.example.com'],
    },
    {
      desc: 'disableCommonName leaves the subject empty',
      opts: { names: ['a.example.com'], disableCommonName: true },
      cn: null,
      sans: ['a.example.com'],
    },
    {
      desc: 'a name over 64 characters is no CN',
      opts: { names: [`${'x'.repeat(60)}.example.com`] },
      cn: null,
      sans: [`${'x'.repeat(60)}.example.com`],
    },
    {
      desc: 'emailAddresses become e-mail SANs',
      opts: { names: ['a.example.com'], emailAddresses: ['ops@example.com'] },
      cn: 'a.example.com',
      sans: ['a.example.com', 'ops@example.com'],
    },
  ];
  for (const keyType of ['P-256', 'P-384', 'RSA'] as const) {
    for (const c of cases) {
      test(`${keyType}: ${c.desc}`, async () => {
        const key =
          keyType === 'RSA'
            ? await acme.crypto.createPrivateRsaKey(2048)
            : await acme.crypto.createPrivateEcdsaKey(keyType);
        const csr = await createCsr(key.toString(), c.opts);
        assert.deepEqual(acme.crypto.readCsrDomains(csr), { commonName: c.cn, altNames: c.sans });
      });
    }
  }
  test('the e-mail SAN is an rfc822Name, not a DNS name', async () => {
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    const csr = (
      await createCsr(key.toString(), { names: ['a.example.com'], emailAddresses: ['ops@example.com'] })
    ).toString();
    const { execFileSync } = await import('node:child_process');
    const text = execFileSync('openssl', ['req', '-noout', '-text'], { input: csr }).toString();
    assert.match(text, /DNS:a\.example\.com, email:ops@example\.com/);
  });
});
