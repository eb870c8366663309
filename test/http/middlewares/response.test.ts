import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, brotliDecompressSync, zstdDecompressSync } from 'node:zlib';
import type { Handler } from '../../../src/http/handler.ts';
import { compressFactory, negotiate } from '../../../src/http/middlewares/compress.ts';
import { retryFactory } from '../../../src/http/middlewares/retry.ts';
import { errorsFactory } from '../../../src/http/middlewares/errors.ts';
import { contentTypeFactory } from '../../../src/http/middlewares/content-type.ts';
import { requestBody } from '../../../src/http/middlewares/body.ts';
import { echoHandler, fixedHandler, send, silentLogger, startHarness } from './harness.ts';

const env = { name: 'x@file', logger: silentLogger, service: () => undefined, tmpDir: '/tmp' };
const BIG = 'hello compress '.repeat(200);

describe('compress', () => {
  const decode: Record<string, (b: Buffer) => Buffer> = {
    gzip: gunzipSync,
    br: brotliDecompressSync,
    zstd: zstdDecompressSync,
  };
  const cases = [
    { desc: 'gzip when only gzip is accepted', accept: 'gzip', encoding: 'gzip' },
    { desc: 'zstd preferred by default order', accept: 'gzip, br, zstd', encoding: 'zstd' },
    {
      desc: 'configured order wins ties',
      options: { encodings: ['gzip', 'br'] },
      accept: 'br, gzip, zstd',
      encoding: 'gzip',
    },
    { desc: 'q-values respected', accept: 'gzip;q=1.0, br;q=0.5', encoding: 'gzip' },
    { desc: 'wildcard picks the first configured', accept: '*', encoding: 'zstd' },
    { desc: 'no Accept-Encoding: identity', accept: undefined, encoding: undefined },
    {
      desc: 'defaultEncoding when the header is absent',
      options: { defaultEncoding: 'gzip' },
      accept: undefined,
      encoding: 'gzip',
    },
    { desc: 'small body stays plain', accept: 'gzip', body: 'tiny', encoding: undefined },
    {
      desc: 'minResponseBodyBytes lowered',
      options: { minResponseBodyBytes: 2 },
      accept: 'gzip',
      body: 'tiny',
      encoding: 'gzip',
    },
    {
      desc: 'already encoded response untouched',
      accept: 'gzip',
      upstreamHeaders: { 'content-encoding': 'br' },
      encoding: 'br',
      raw: true,
    },
    {
      desc: 'excluded content type stays plain',
      options: { excludedContentTypes: ['text/plain'] },
      accept: 'gzip',
      encoding: undefined,
    },
    {
      desc: 'included content types only',
      options: { includedContentTypes: ['application/json'] },
      accept: 'gzip',
      encoding: undefined,
    },
    {
      desc: 'grpc never compressed',
      accept: 'gzip',
      upstreamHeaders: { 'content-type': 'application/grpc' },
      encoding: undefined,
    },
    { desc: 'unknown length: buffered to decide, then compressed', accept: 'gzip', noLength: true, encoding: 'gzip' },
    {
      desc: 'unknown length, small: plain with a length',
      accept: 'gzip',
      noLength: true,
      body: 'tiny',
      encoding: undefined,
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const body = c.body ?? BIG;
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', ...c.upstreamHeaders };
      if (!c.noLength) headers['content-length'] = String(Buffer.byteLength(body));
      const half = Math.floor(body.length / 2);
      const h = await startHarness(compressFactory, c.options ?? {}, {
        final: fixedHandler(200, headers, [Buffer.from(body.slice(0, half)), Buffer.from(body.slice(half))]),
      });
      try {
        const r = await send(h.port, { headers: c.accept === undefined ? {} : { 'accept-encoding': c.accept } });
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-encoding'], c.encoding);
        if (c.encoding && !c.raw) {
          assert.equal(decode[c.encoding]!(r.body).toString(), body);
          assert.equal(r.headers['content-length'], undefined);
        } else assert.equal(r.text, body);
        if (!c.raw && c.upstreamHeaders?.['content-type'] !== 'application/grpc')
          assert.match(String(r.headers.vary), /Accept-Encoding/);
      } finally {
        await h.close();
      }
    });
  }
  test('negotiate: identity only and q=0 give nothing', () => {
    assert.equal(negotiate('identity', ['gzip']), undefined);
    assert.equal(negotiate('gzip;q=0', ['gzip']), undefined);
    assert.equal(negotiate('*;q=0, br', ['gzip', 'br']), 'br');
  });
  const invalid = [
    {
      desc: 'both content-type lists',
      options: { excludedContentTypes: ['a/b'], includedContentTypes: ['c/d'] },
      error: 'excludedContentTypes and includedContentTypes are mutually exclusive',
    },
    { desc: 'unknown encoding', options: { encodings: ['lzma'] }, error: 'encodings: unsupported encoding "lzma"' },
    {
      desc: 'default not among encodings',
      options: { encodings: ['gzip'], defaultEncoding: 'br' },
      error: 'defaultEncoding: "br" is not among encodings',
    },
  ];
  for (const c of invalid)
    test(`invalid: ${c.desc}`, () => assert.deepEqual(compressFactory(c.options, env), { error: c.error }));
});

describe('retry', () => {
  const cases = [
    {
      desc: 'network error then success',
      options: { attempts: 3 },
      failures: 1,
      started: false,
      status: 200,
      calls: 2,
    },
    { desc: 'gives up after attempts', options: { attempts: 2 }, failures: 5, started: false, status: 502, calls: 2 },
    {
      desc: '504 from berth is retried',
      options: { attempts: 2 },
      failures: 1,
      failStatus: 504,
      started: false,
      status: 200,
      calls: 2,
    },
    {
      desc: 'a 502 from the upstream itself is not retried',
      options: { attempts: 3 },
      failures: 1,
      started: true,
      status: 502,
      calls: 1,
    },
    {
      desc: '503 (no server) is not retried',
      options: { attempts: 3 },
      failures: 1,
      failStatus: 503,
      started: false,
      status: 503,
      calls: 1,
    },
    {
      desc: 'initialInterval as a duration string',
      options: { attempts: 2, initialInterval: '1ms' },
      failures: 1,
      started: false,
      status: 200,
      calls: 2,
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      let calls = 0;
      const final: Handler = (req, res, ctx) => {
        calls++;
        if (calls <= c.failures) {
          ctx.responseStarted = c.started;
          res.setHeader('x-attempt', String(calls));
          res.writeHead(c.failStatus ?? 502);
          res.end('failed');
          return;
        }
        echoHandler(req, res, ctx);
      };
      const h = await startHarness(retryFactory, c.options, { final });
      try {
        const r = await send(h.port);
        assert.equal(r.status, c.status);
        assert.equal(calls, c.calls);
        if (c.status === 200) assert.equal(r.headers['x-attempt'], undefined);
      } finally {
        await h.close();
      }
    });
  }
  test('a body already consumed is not replayed', async () => {
    let calls = 0;
    const final: Handler = (req, res) => {
      calls++;
      requestBody(req).resume();
      requestBody(req).on('end', () => {
        res.writeHead(502);
        res.end();
      });
    };
    const h = await startHarness(retryFactory, { attempts: 3 }, { final });
    try {
      const r = await send(h.port, { method: 'POST', body: 'data' });
      assert.equal(r.status, 502);
      assert.equal(calls, 1);
    } finally {
      await h.close();
    }
  });
  // Traefik v3.7's options: status ranges, non-idempotent methods, the body kept to replay, the
  // network-error switch and the overall timeout.
  const v37 = [
    {
      desc: 'status: an upstream answer in the ranges is retried',
      options: { attempts: 3, status: ['500-599'] },
      method: 'GET',
      failStatus: 503,
      started: true,
      status: 200,
      calls: 2,
    },
    {
      desc: 'status from labels (comma-separated)',
      options: { attempts: 3, status: '429,500-599' },
      method: 'GET',
      failStatus: 429,
      started: true,
      status: 200,
      calls: 2,
    },
    {
      desc: 'status outside the ranges passes through',
      options: { attempts: 3, status: ['500-599'] },
      method: 'GET',
      failStatus: 404,
      started: true,
      status: 404,
      calls: 1,
    },
    {
      desc: 'POST is not retried on a status without retryNonIdempotentMethod',
      options: { attempts: 3, status: ['500'] },
      method: 'POST',
      body: 'payload',
      failStatus: 500,
      started: true,
      status: 500,
      calls: 1,
    },
    {
      desc: 'retryNonIdempotentMethod: POST retried, its body sent again',
      options: { attempts: 3, status: ['500'], retryNonIdempotentMethod: true },
      method: 'POST',
      body: 'payload',
      failStatus: 500,
      started: true,
      status: 200,
      calls: 2,
      echoed: 'payload',
    },
    {
      desc: 'a body over maxRequestBodyBytes turns status retries off',
      options: { attempts: 3, status: ['500'], maxRequestBodyBytes: 3 },
      method: 'PUT',
      body: 'payload',
      failStatus: 500,
      started: true,
      status: 500,
      calls: 1,
    },
    {
      desc: "disableRetryOnNetworkError: berth's own 502 is passed on",
      options: { attempts: 3, status: ['500'], disableRetryOnNetworkError: true },
      method: 'GET',
      failStatus: 502,
      started: false,
      status: 502,
      calls: 1,
    },
    {
      desc: 'past timeout nothing is retried',
      options: { attempts: 3, status: ['500'], timeout: '1ms' },
      method: 'GET',
      failStatus: 500,
      started: true,
      status: 500,
      calls: 1,
      slow: true,
    },
  ];
  for (const c of v37) {
    test(c.desc, async () => {
      let calls = 0;
      const bodies: string[] = [];
      const final: Handler = (req, res, ctx) => {
        calls++;
        const chunks: Buffer[] = [];
        const answer = (): void => {
          bodies.push(Buffer.concat(chunks).toString());
          if (calls === 1) {
            ctx.responseStarted = c.started;
            res.writeHead(c.failStatus);
            res.end('failed');
            return;
          }
          res.writeHead(200);
          res.end(bodies.at(-1));
        };
        const s = requestBody(req);
        s.on('data', (d: Buffer) => chunks.push(d));
        // The slow case answers after the 1 ms timeout has certainly passed (a timer never fires early).
        s.on('end', () => (c.slow ? setTimeout(answer, 20) : answer()));
      };
      const h = await startHarness(retryFactory, c.options, { final });
      try {
        const r = await send(h.port, { method: c.method, ...(c.body !== undefined ? { body: c.body } : {}) });
        assert.equal(r.status, c.status);
        assert.equal(calls, c.calls);
        if (c.echoed !== undefined) assert.deepEqual(bodies, [c.echoed, c.echoed]);
      } finally {
        await h.close();
      }
    });
  }
  const invalid = [
    { desc: 'attempts missing', options: {}, error: 'attempts: must be a positive integer' },
    {
      desc: 'bad interval',
      options: { attempts: 2, initialInterval: 'later' },
      error: 'initialInterval: expected a duration such as 100ms',
    },
    {
      desc: 'nothing left to retry',
      options: { attempts: 2, disableRetryOnNetworkError: true },
      error: 'status: required when disableRetryOnNetworkError is true (nothing would be retried)',
    },
    {
      desc: 'bad status range',
      options: { attempts: 2, status: ['5xx'] },
      error: 'status: invalid status or range "5xx"',
    },
  ];
  for (const c of invalid)
    test(`invalid: ${c.desc}`, () => assert.deepEqual(retryFactory(c.options, env), { error: c.error }));
});

describe('errors', () => {
  let pageRequests: string[] = [];
  const errorPage: Handler = (req, res, ctx) => {
    pageRequests.push(`${req.method} ${req.url}`);
    fixedHandler(200, { 'content-type': 'text/html', 'x-page': '1' }, `<h1>${req.url}</h1>`)(req, res, ctx);
  };
  const cases = [
    {
      desc: 'status in range: page body, original status',
      options: { status: ['500-599'], service: 'pages', query: '/{status}.html' },
      upstream: 503,
      status: 503,
      body: '<h1>/503.html</h1>',
      page: 'GET /503.html',
    },
    {
      desc: 'single status',
      options: { status: ['404'], service: 'pages', query: '/e/{status}' },
      upstream: 404,
      status: 404,
      body: '<h1>/e/404</h1>',
      page: 'GET /e/404',
    },
    {
      desc: '{url} is the escaped original URL',
      options: { status: '404', service: 'pages', query: '/e?from={url}' },
      upstream: 404,
      status: 404,
      body: '<h1>/e?from=%2Forig%3Fa%3D1</h1>',
      page: 'GET /e?from=%2Forig%3Fa%3D1',
    },
    {
      desc: 'status outside the ranges passes through',
      options: { status: ['500-599'], service: 'pages', query: '/{status}.html' },
      upstream: 404,
      status: 404,
      body: 'upstream body',
    },
    {
      desc: 'statusRewrites changes the final status',
      options: { status: ['500-599'], service: 'pages', query: '/x', statusRewrites: { '500-599': 503 } },
      upstream: 500,
      status: 503,
      body: '<h1>/x</h1>',
      page: 'GET /x',
    },
    {
      desc: 'missing service: original status, short body',
      options: { status: ['500'], service: 'nope' },
      upstream: 500,
      status: 500,
      body: '500',
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      pageRequests = [];
      const h = await startHarness(errorsFactory, c.options, {
        final: fixedHandler(c.upstream, { 'x-upstream': '1' }, 'upstream body'),
        services: { pages: errorPage },
      });
      try {
        const r = await send(h.port, { method: 'POST', path: '/orig?a=1', body: 'payload' });
        assert.equal(r.status, c.status);
        assert.equal(r.text, c.body);
        if (c.page) {
          assert.deepEqual(pageRequests, [c.page]);
          assert.equal(r.headers['x-upstream'], undefined);
          assert.equal(r.headers['x-page'], '1');
        }
      } finally {
        await h.close();
      }
    });
  }
  const invalid = [
    { desc: 'no status', options: { service: 's' }, error: 'status: at least one status code or range is required' },
    { desc: 'bad range', options: { status: ['5xx'], service: 's' }, error: 'status: invalid status or range "5xx"' },
    { desc: 'no service', options: { status: ['500'] }, error: 'service: required' },
  ];
  for (const c of invalid)
    test(`invalid: ${c.desc}`, () => assert.deepEqual(errorsFactory(c.options, env), { error: c.error }));
});

describe('contentType', () => {
  const cases = [
    { desc: 'HTML sniffed', body: '<!DOCTYPE html><html></html>', headers: {}, want: 'text/html; charset=utf-8' },
    { desc: 'plain text sniffed', body: 'just words', headers: {}, want: 'text/plain; charset=utf-8' },
    {
      desc: 'PNG sniffed',
      body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
      headers: {},
      want: 'image/png',
    },
    { desc: 'binary is octet-stream', body: Buffer.from([1, 2, 3, 0]), headers: {}, want: 'application/octet-stream' },
    {
      desc: 'existing type kept',
      body: '<html>',
      headers: { 'content-type': 'application/xml' },
      want: 'application/xml',
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(
        contentTypeFactory,
        {},
        { final: fixedHandler(200, c.headers, typeof c.body === 'string' ? Buffer.from(c.body) : c.body) },
      );
      try {
        const r = await send(h.port);
        assert.equal(r.headers['content-type'], c.want);
      } finally {
        await h.close();
      }
    });
  }
});
