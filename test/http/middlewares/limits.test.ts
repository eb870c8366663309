import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../../../src/http/handler.ts';
import { rateLimitFactory } from '../../../src/http/middlewares/rate-limit.ts';
import { ipAllowListFactory } from '../../../src/http/middlewares/ip-allow-list.ts';
import { inFlightReqFactory } from '../../../src/http/middlewares/in-flight-req.ts';
import { build, send, silentLogger, startHarness } from './harness.ts';

const env = { name: 'x@file', logger: silentLogger, service: () => undefined, tmpDir: '/tmp' };

describe('ipAllowList', () => {
  const cases = [
    { desc: 'peer in range', options: { sourceRange: ['127.0.0.0/8'] }, status: 200 },
    { desc: 'peer not in range → 403', options: { sourceRange: ['10.0.0.0/8'] }, status: 403, body: 'Forbidden' },
    { desc: 'custom rejectStatusCode', options: { sourceRange: ['10.0.0.0/8'], rejectStatusCode: 404 }, status: 404 },
    {
      desc: 'default strategy ignores X-Forwarded-For',
      options: { sourceRange: ['10.0.0.0/8'] },
      xff: '10.1.1.1',
      status: 403,
    },
    {
      desc: 'depth 1 takes the right-most X-Forwarded-For entry',
      options: { sourceRange: ['10.0.0.0/8'], ipStrategy: { depth: 1 } },
      xff: '1.2.3.4, 10.1.1.1',
      status: 200,
    },
    {
      desc: 'depth 2 takes the second from the right',
      options: { sourceRange: ['10.0.0.0/8'], ipStrategy: { depth: 2 } },
      xff: '1.2.3.4, 10.1.1.1',
      status: 403,
    },
    {
      desc: 'depth beyond the header → rejected',
      options: { sourceRange: ['0.0.0.0/0'], ipStrategy: { depth: 3 } },
      xff: '1.2.3.4',
      status: 403,
    },
    {
      desc: 'excludedIPs skip trusted proxies from the right',
      options: { sourceRange: ['1.2.3.4'], ipStrategy: { excludedIPs: ['10.0.0.0/8'] } },
      xff: '1.2.3.4, 10.0.0.2, 10.0.0.1',
      status: 200,
    },
    { desc: 'comma-separated label form', options: { sourcerange: '10.0.0.0/8, 127.0.0.1' }, status: 200 },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(ipAllowListFactory, c.options);
      try {
        const r = await send(h.port, { headers: c.xff ? { 'x-forwarded-for': c.xff } : {} });
        assert.equal(r.status, c.status);
        if (c.body) assert.equal(r.text, c.body);
      } finally {
        await h.close();
      }
    });
  }
  const invalid = [
    {
      desc: 'empty sourceRange',
      options: {},
      error: 'sourceRange: is empty, at least one address or range is required',
    },
    {
      desc: 'bad range',
      options: { sourceRange: ['10.0.0.0/40'] },
      error: 'sourceRange: invalid address or range "10.0.0.0/40"',
    },
    {
      desc: 'bad excluded IP',
      options: { sourceRange: ['10.0.0.0/8'], ipStrategy: { excludedIPs: ['nope'] } },
      error: 'ipStrategy.excludedIPs: invalid address or range "nope"',
    },
  ];
  for (const c of invalid)
    test(`invalid: ${c.desc}`, () => assert.deepEqual(ipAllowListFactory(c.options, env), { error: c.error }));
});

describe('rateLimit', () => {
  const cases = [
    {
      desc: 'burst 2 at 1 per hour: third request → 429',
      options: { average: 1, period: '1h', burst: 2 },
      requests: 3,
      statuses: [200, 200, 429],
    },
    { desc: 'average 0 means no limit', options: { average: 0 }, requests: 5, statuses: [200, 200, 200, 200, 200] },
    {
      desc: 'per-header source: different keys have their own bucket',
      options: { average: 1, period: '1h', burst: 1, sourceCriterion: { requestHeaderName: 'X-Key' } },
      requests: 2,
      keys: ['a', 'b'],
      statuses: [200, 200],
    },
    {
      desc: 'per-header source: same key shares a bucket',
      options: { average: 1, period: '1h', burst: 1, sourceCriterion: { requestHeaderName: 'X-Key' } },
      requests: 2,
      keys: ['a', 'a'],
      statuses: [200, 429],
    },
  ];
  // Buckets are shared by middleware name (and options) in the process: one name per case.
  cases.forEach((c, i) => {
    test(c.desc, async () => {
      const h = await startHarness([build(rateLimitFactory, c.options, { name: `rate-${i}@file` })], {});
      try {
        const got: number[] = [];
        for (let i = 0; i < c.requests; i++) {
          const r = await send(h.port, { headers: c.keys ? { 'x-key': c.keys[i]! } : {} });
          got.push(r.status);
          if (r.status === 429) {
            assert.match(String(r.headers['retry-after']), /^\d+$/);
            assert.ok(r.headers['x-retry-in']);
          }
        }
        assert.deepEqual(got, c.statuses);
      } finally {
        await h.close();
      }
    });
  });
  const invalid = [
    { desc: 'average not a number', options: { average: 'ten' }, error: 'average: expected a number' },
    {
      desc: 'bad period',
      options: { average: 1, period: 'soon' },
      error: 'period: expected a duration such as 1s or 1m',
    },
    {
      desc: 'two criteria',
      options: { average: 1, sourceCriterion: { requestHost: true, requestHeaderName: 'X' } },
      error: 'sourceCriterion.ipStrategy, requestHeaderName and requestHost are mutually exclusive',
    },
  ];
  for (const c of invalid)
    test(`invalid: ${c.desc}`, () => assert.deepEqual(rateLimitFactory(c.options, env), { error: c.error }));
});

describe('inFlightReq', () => {
  test('the request over the amount gets 429 while others are in flight; the slot frees on completion', async () => {
    const releases: Array<() => void> = [];
    let arrived!: () => void;
    let waiting = 2;
    const bothArrived = new Promise<void>((r) => {
      arrived = r;
    });
    const final: Handler = (_req, res) => {
      releases.push(() => res.end('done'));
      if (--waiting === 0) arrived();
    };
    const h = await startHarness(inFlightReqFactory, { amount: 2 }, { final });
    try {
      const first = send(h.port);
      const second = send(h.port);
      await bothArrived;
      const third = await send(h.port);
      assert.equal(third.status, 429);
      for (const r of releases) r();
      assert.equal((await first).status, 200);
      assert.equal((await second).status, 200);
      releases.length = 0;
      waiting = 1;
      const fourth = send(h.port);
      await new Promise<void>((r) => {
        arrived = r;
      });
      for (const r of releases) r();
      assert.equal((await fourth).status, 200);
    } finally {
      await h.close();
    }
  });
  const invalid = [
    { desc: 'amount missing', options: {}, error: 'amount: must be a positive integer' },
    { desc: 'amount zero', options: { amount: 0 }, error: 'amount: must be a positive integer' },
  ];
  for (const c of invalid)
    test(`invalid: ${c.desc}`, () => assert.deepEqual(inFlightReqFactory(c.options, env), { error: c.error }));
});
