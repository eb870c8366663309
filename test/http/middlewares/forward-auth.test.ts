import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardAuthFactory } from '../../../src/http/middlewares/forward-auth.ts';
import { echoOf, fixedHandler, send, silentLogger, startHarness } from './harness.ts';

const env = { name: 'x@file', logger: silentLogger, service: () => undefined, tmpDir: '/tmp' };

/** An authentication server whose answer depends on the `x-want` request header. */
let auth: Server;
let authUrl = '';
let seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string } | undefined;

before(async () => {
  auth = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => {
        seen = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        switch (req.headers['x-want']) {
          case 'deny':
            res.writeHead(403, { 'content-type': 'text/plain', 'x-reason': 'nope' });
            res.end('denied by auth');
            return;
          case 'redirect':
            res.writeHead(302, { location: '/login?next=1' });
            res.end();
            return;
          default:
            res.setHeader('x-auth-user', 'alice');
            res.setHeader('x-auth-role', 'admin');
            res.setHeader('x-other', 'not copied');
            res.setHeader('set-cookie', ['session=abc; Path=/', 'tracking=1']);
            res.writeHead(200);
            res.end();
        }
      });
  });
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
  authUrl = `http://127.0.0.1:${(auth.address() as AddressInfo).port}/verify`;
});
after(() => new Promise<void>((r) => auth.close(() => r())));

describe('forwardAuth', () => {
  test('2xx lets the request through and copies authResponseHeaders', async () => {
    const h = await startHarness(forwardAuthFactory, { address: authUrl, authResponseHeaders: ['X-Auth-User'] });
    try {
      const r = await send(h.port, { path: '/app?x=1', headers: { 'x-auth-user': 'forged', cookie: 'a=1' } });
      assert.equal(r.status, 200);
      const echo = echoOf(r);
      assert.equal(echo.headers['x-auth-user'], 'alice');
      assert.equal(echo.headers['x-other'], undefined);
      assert.equal(seen?.method, 'GET');
      assert.equal(seen?.headers['x-forwarded-method'], 'GET');
      assert.equal(seen?.headers['x-forwarded-proto'], 'http');
      assert.equal(seen?.headers['x-forwarded-host'], 'example.com');
      assert.equal(seen?.headers['x-forwarded-uri'], '/app?x=1');
      assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen?.headers.cookie, 'a=1');
    } finally {
      await h.close();
    }
  });

  const cases = [
    {
      desc: 'non-2xx answer returned to the client with its headers',
      options: {},
      want: 'deny',
      status: 403,
      body: 'denied by auth',
      headers: { 'x-reason': 'nope' },
    },
    {
      desc: 'redirect Location resolved against the address',
      options: {},
      want: 'redirect',
      status: 302,
      headers: { location: `${'AUTH'}/login?next=1` },
    },
    {
      desc: 'preserveLocationHeader keeps it relative',
      options: { preserveLocationHeader: true },
      want: 'redirect',
      status: 302,
      headers: { location: '/login?next=1' },
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      let reached = false;
      const h = await startHarness(
        forwardAuthFactory,
        { address: authUrl, ...c.options },
        {
          final: (req, res, ctx) => {
            reached = true;
            fixedHandler(200, {}, 'app')(req, res, ctx);
          },
        },
      );
      try {
        const r = await send(h.port, { headers: { 'x-want': c.want } });
        assert.equal(r.status, c.status);
        if (c.body) assert.equal(r.text, c.body);
        for (const [k, v] of Object.entries(c.headers))
          assert.equal(r.headers[k], v.replace('AUTH', new URL(authUrl).origin), k);
        assert.equal(reached, false);
      } finally {
        await h.close();
      }
    });
  }

  const sizes = [
    {
      desc: 'maxResponseBodySize: an answer longer than the limit is a 401, and the service is not reached',
      limit: 5,
      status: 401,
      reached: false,
    },
    { desc: 'maxResponseBodySize: an answer within the limit is passed on', limit: 14, status: 403, reached: false },
    { desc: 'maxResponseBodySize -1 (the default) reads the answer whole', limit: -1, status: 403, reached: false },
  ];
  for (const c of sizes) {
    test(c.desc, async () => {
      let reached = false;
      const h = await startHarness(
        forwardAuthFactory,
        { address: authUrl, maxResponseBodySize: c.limit },
        {
          final: (req, res, ctx) => {
            reached = true;
            fixedHandler(200, {}, 'app')(req, res, ctx);
          },
        },
      );
      try {
        // The deny answer's body is 'denied by auth' (14 bytes).
        const r = await send(h.port, { headers: { 'x-want': 'deny' } });
        assert.equal(r.status, c.status);
        if (c.status === 403) assert.equal(r.text, 'denied by auth');
        assert.equal(reached, c.reached);
      } finally {
        await h.close();
      }
    });
  }

  test('authResponseHeadersRegex copies matching headers and drops forged ones', async () => {
    const h = await startHarness(forwardAuthFactory, { address: authUrl, authResponseHeadersRegex: '^X-Auth-' });
    try {
      const echo = echoOf(await send(h.port, { headers: { 'x-auth-forged': 'evil' } }));
      assert.equal(echo.headers['x-auth-user'], 'alice');
      assert.equal(echo.headers['x-auth-role'], 'admin');
      assert.equal(echo.headers['x-auth-forged'], undefined);
    } finally {
      await h.close();
    }
  });

  test('authRequestHeaders limits what the auth server sees', async () => {
    const h = await startHarness(forwardAuthFactory, { address: authUrl, authRequestHeaders: ['Authorization'] });
    try {
      await send(h.port, { headers: { authorization: 'Bearer t', cookie: 'c=1' } });
      assert.equal(seen?.headers.authorization, 'Bearer t');
      assert.equal(seen?.headers.cookie, undefined);
    } finally {
      await h.close();
    }
  });

  test('trustForwardHeader takes forwarded values from the request', async () => {
    const h = await startHarness(
      forwardAuthFactory,
      { address: authUrl, trustForwardHeader: true },
      { trustedPeer: true },
    );
    try {
      await send(h.port, {
        headers: {
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'public.example',
          'x-forwarded-for': '203.0.113.9',
        },
      });
      assert.equal(seen?.headers['x-forwarded-proto'], 'https');
      assert.equal(seen?.headers['x-forwarded-host'], 'public.example');
      assert.equal(seen?.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    } finally {
      await h.close();
    }
  });

  test('without trustForwardHeader forwarded values are recomputed', async () => {
    const h = await startHarness(forwardAuthFactory, { address: authUrl });
    try {
      await send(h.port, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(seen?.headers['x-forwarded-proto'], 'http');
      assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
    } finally {
      await h.close();
    }
  });

  test('addAuthCookiesToResponse adds only the named cookies', async () => {
    const h = await startHarness(
      forwardAuthFactory,
      { address: authUrl, addAuthCookiesToResponse: ['session'] },
      { final: fixedHandler(200, { 'set-cookie': ['app=1'] }, 'ok') },
    );
    try {
      const r = await send(h.port);
      assert.deepEqual(r.headers['set-cookie'], ['app=1', 'session=abc; Path=/']);
    } finally {
      await h.close();
    }
  });

  test('forwardBody sends the body to the auth server and still to the service', async () => {
    const h = await startHarness(forwardAuthFactory, {
      address: authUrl,
      forwardBody: true,
      preserveRequestMethod: true,
    });
    try {
      const echo = echoOf(await send(h.port, { method: 'POST', body: 'payload' }));
      assert.equal(seen?.method, 'POST');
      assert.equal(seen?.body, 'payload');
      assert.equal(echo.body, 'payload');
    } finally {
      await h.close();
    }
  });

  test('unreachable auth server → 500', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const h = await startHarness(forwardAuthFactory, { address: `http://127.0.0.1:${port}/` });
    try {
      assert.equal((await send(h.port)).status, 500);
    } finally {
      await h.close();
    }
  });

  const invalid = [
    { desc: 'address missing', options: {}, error: 'address: required' },
    {
      desc: 'address not a URL',
      options: { address: 'auth:9000' },
      error: 'address: must be an http:// or https:// URL',
    },
    {
      desc: 'bad regex',
      options: { address: 'http://a/', authResponseHeadersRegex: '(' },
      error: /^authResponseHeadersRegex: invalid regular expression/,
    },
  ];
  for (const c of invalid) {
    test(`invalid: ${c.desc}`, () => {
      const built = forwardAuthFactory(c.options, env);
      assert.ok('error' in built);
      if (typeof c.error === 'string') assert.equal(built.error, c.error);
      else assert.match(built.error, c.error);
    });
  }
});
