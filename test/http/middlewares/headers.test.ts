import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { headersFactory } from '../../../src/http/middlewares/headers.ts';
import { echoOf, fixedHandler, send, startHarness } from './harness.ts';

describe('headers: HSTS', () => {
  const cases = [
    { desc: 'max-age only, on HTTPS', options: { stsSeconds: 31536000 }, scheme: 'https', want: 'max-age=31536000' },
    {
      desc: 'includeSubDomains',
      options: { stsSeconds: 60, stsIncludeSubdomains: true },
      scheme: 'https',
      want: 'max-age=60; includeSubDomains',
    },
    { desc: 'preload', options: { stsSeconds: 60, stsPreload: true }, scheme: 'https', want: 'max-age=60; preload' },
    {
      desc: 'both, in Traefik order',
      options: { stsSeconds: 63072000, stsIncludeSubdomains: true, stsPreload: true },
      scheme: 'https',
      want: 'max-age=63072000; includeSubDomains; preload',
    },
    {
      desc: 'label strings are accepted',
      options: { stsseconds: '300', stsincludesubdomains: 'true' },
      scheme: 'https',
      want: 'max-age=300; includeSubDomains',
    },
    { desc: 'not on plain HTTP', options: { stsSeconds: 60 }, scheme: 'http', want: undefined },
    {
      desc: 'forceSTSHeader on plain HTTP',
      options: { stsSeconds: 60, forceSTSHeader: true },
      scheme: 'http',
      want: 'max-age=60',
    },
    {
      desc: 'sslProxyHeaders mark the request as HTTPS',
      options: { stsSeconds: 60, sslProxyHeaders: { 'X-Forwarded-Proto': 'https' } },
      scheme: 'http',
      reqHeaders: { 'x-forwarded-proto': 'https' },
      want: 'max-age=60',
    },
    {
      desc: 'isDevelopment disables HSTS',
      options: { stsSeconds: 60, isDevelopment: true },
      scheme: 'https',
      want: undefined,
    },
    {
      desc: 'stsSeconds 0 sends nothing',
      options: { stsSeconds: 0, forceSTSHeader: true },
      scheme: 'https',
      want: undefined,
    },
  ] as const;
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(headersFactory, c.options, { scheme: c.scheme });
      try {
        const r = await send(h.port, { headers: 'reqHeaders' in c ? c.reqHeaders : {} });
        assert.equal(r.status, 200);
        assert.equal(r.headers['strict-transport-security'], c.want);
      } finally {
        await h.close();
      }
    });
  }
});

describe('headers: security and custom headers', () => {
  const cases = [
    { desc: 'frameDeny', options: { frameDeny: true }, want: { 'x-frame-options': 'DENY' } },
    {
      desc: 'customFrameOptionsValue wins over frameDeny',
      options: { frameDeny: true, customFrameOptionsValue: 'SAMEORIGIN' },
      want: { 'x-frame-options': 'SAMEORIGIN' },
    },
    {
      desc: 'contentTypeNosniff',
      options: { contentTypeNosniff: true },
      want: { 'x-content-type-options': 'nosniff' },
    },
    { desc: 'browserXssFilter', options: { browserXssFilter: true }, want: { 'x-xss-protection': '1; mode=block' } },
    {
      desc: 'CSP, referrer and permissions policies',
      options: {
        contentSecurityPolicy: "default-src 'self'",
        referrerPolicy: 'no-referrer',
        permissionsPolicy: 'camera=()',
      },
      want: {
        'content-security-policy': "default-src 'self'",
        'referrer-policy': 'no-referrer',
        'permissions-policy': 'camera=()',
      },
    },
    {
      desc: 'custom response header set and upstream header removed',
      options: { customResponseHeaders: { 'X-Custom': 'yes', Server: '' } },
      want: { 'x-custom': 'yes', server: undefined, 'x-upstream': 'kept' },
    },
    {
      desc: 'custom response header overrides upstream value',
      options: { customResponseHeaders: { 'X-Upstream': 'replaced' } },
      want: { 'x-upstream': 'replaced' },
    },
  ] as const;
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(headersFactory, c.options, {
        final: fixedHandler(200, { server: 'nginx', 'x-upstream': 'kept' }, 'ok'),
      });
      try {
        const r = await send(h.port);
        for (const [k, v] of Object.entries(c.want)) assert.equal(r.headers[k], v, k);
      } finally {
        await h.close();
      }
    });
  }

  test('custom request headers are set, and "" removes one', async () => {
    const h = await startHarness(headersFactory, {
      customRequestHeaders: { 'X-Script-Name': 'test', 'X-Remove-Me': '' },
    });
    try {
      const echo = echoOf(await send(h.port, { headers: { 'x-remove-me': 'secret', 'x-keep': '1' } }));
      assert.equal(echo.headers['x-script-name'], 'test');
      assert.equal(echo.headers['x-remove-me'], undefined);
      assert.equal(echo.headers['x-keep'], '1');
    } finally {
      await h.close();
    }
  });

  test('allowedHosts rejects other hosts, hostsProxyHeaders are consulted', async () => {
    const h = await startHarness(headersFactory, {
      allowedHosts: ['good.example'],
      hostsProxyHeaders: ['X-Forwarded-Host'],
    });
    try {
      assert.equal((await send(h.port, { headers: { host: 'evil.example' } })).status, 500);
      assert.equal((await send(h.port, { headers: { host: 'good.example' } })).status, 200);
      assert.equal(
        (await send(h.port, { headers: { host: 'evil.example', 'x-forwarded-host': 'good.example' } })).status,
        200,
      );
    } finally {
      await h.close();
    }
  });
});

describe('headers: CORS', () => {
  const base = {
    accessControlAllowMethods: ['GET', 'OPTIONS', 'PUT'],
    accessControlAllowHeaders: ['X-Token'],
    accessControlAllowOriginList: ['https://app.example'],
    accessControlMaxAge: 100,
    addVaryHeader: true,
  };
  const cases = [
    {
      desc: 'preflight is answered without reaching the service',
      options: base,
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' },
      status: 200,
      want: {
        'access-control-allow-origin': 'https://app.example',
        'access-control-allow-methods': 'GET,OPTIONS,PUT',
        'access-control-allow-headers': 'X-Token',
        'access-control-max-age': '100',
        vary: 'Origin',
      },
      reached: false,
    },
    {
      desc: 'preflight from an unknown origin gets no allow-origin',
      options: base,
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
      status: 200,
      want: { 'access-control-allow-origin': undefined, 'access-control-max-age': '100' },
      reached: false,
    },
    {
      desc: 'simple request gets allow-origin and Vary appended',
      options: { ...base, accessControlExposeHeaders: ['X-A', 'X-B'], accessControlAllowCredentials: true },
      method: 'GET',
      headers: { origin: 'https://app.example' },
      status: 200,
      want: {
        'access-control-allow-origin': 'https://app.example',
        'access-control-expose-headers': 'X-A,X-B',
        'access-control-allow-credentials': 'true',
        vary: 'Accept-Encoding,Origin',
      },
      reached: true,
    },
    {
      desc: 'origin regex echoes the origin',
      options: { accessControlAllowOriginListRegex: ['^https://.*\\.example\\.org$'] },
      method: 'GET',
      headers: { origin: 'https://a.example.org' },
      status: 200,
      want: { 'access-control-allow-origin': 'https://a.example.org' },
      reached: true,
    },
    {
      desc: 'wildcard origin',
      options: { accessControlAllowOriginList: ['*'] },
      method: 'GET',
      headers: { origin: 'https://x.example' },
      status: 200,
      want: { 'access-control-allow-origin': '*' },
      reached: true,
    },
    {
      desc: 'OPTIONS without Access-Control-Request-Method is not a preflight',
      options: base,
      method: 'OPTIONS',
      headers: { origin: 'https://app.example' },
      status: 200,
      want: {},
      reached: true,
    },
    {
      desc: 'preflight without accessControlMaxAge sends no Access-Control-Max-Age (v3.7)',
      options: { accessControlAllowOriginList: ['https://app.example'] },
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
      status: 200,
      want: { 'access-control-allow-origin': 'https://app.example', 'access-control-max-age': undefined },
      reached: false,
    },
    {
      desc: 'wildcard origin with credentials echoes the Origin',
      options: { accessControlAllowOriginList: ['*'], accessControlAllowCredentials: true },
      method: 'GET',
      headers: { origin: 'https://x.example' },
      status: 200,
      want: { 'access-control-allow-origin': 'https://x.example', 'access-control-allow-credentials': 'true' },
      reached: true,
    },
    {
      desc: 'preflight with credentials echoes the requested method and headers for wildcards; expose headers in the preflight too',
      options: {
        accessControlAllowOriginList: ['*'],
        accessControlAllowCredentials: true,
        accessControlAllowMethods: ['*'],
        accessControlAllowHeaders: ['*'],
        accessControlExposeHeaders: ['X-A'],
      },
      method: 'OPTIONS',
      headers: {
        origin: 'https://x.example',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'x-token,content-type',
      },
      status: 200,
      want: {
        'access-control-allow-origin': 'https://x.example',
        'access-control-allow-methods': 'PATCH',
        'access-control-allow-headers': 'x-token,content-type',
        'access-control-expose-headers': 'X-A',
      },
      reached: false,
    },
    {
      desc: 'a wildcard expose list is left out with credentials',
      options: {
        accessControlAllowOriginList: ['https://app.example'],
        accessControlAllowCredentials: true,
        accessControlExposeHeaders: ['*'],
      },
      method: 'GET',
      headers: { origin: 'https://app.example' },
      status: 200,
      want: { 'access-control-expose-headers': undefined, 'access-control-allow-credentials': 'true' },
      reached: true,
    },
    {
      desc: 'wildcard methods without credentials stay a wildcard',
      options: { accessControlAllowOriginList: ['*'], accessControlAllowMethods: ['*'] },
      method: 'OPTIONS',
      headers: { origin: 'https://x.example', 'access-control-request-method': 'PATCH' },
      status: 200,
      want: { 'access-control-allow-origin': '*', 'access-control-allow-methods': '*' },
      reached: false,
    },
  ] as const;
  for (const c of cases) {
    test(c.desc, async () => {
      let reached = false;
      const upstream = fixedHandler(200, { vary: 'Accept-Encoding' }, 'ok');
      const h = await startHarness(headersFactory, c.options, {
        final: (req, res, ctx) => {
          reached = true;
          upstream(req, res, ctx);
        },
      });
      try {
        const r = await send(h.port, { method: c.method, headers: c.headers });
        assert.equal(r.status, c.status);
        for (const [k, v] of Object.entries(c.want)) assert.equal(r.headers[k], v, k);
        assert.equal(reached, c.reached);
      } finally {
        await h.close();
      }
    });
  }
});

describe('headers: invalid options', () => {
  const cases = [
    { desc: 'stsSeconds not a number', options: { stsSeconds: 'a year' }, error: 'stsSeconds: expected a number' },
    { desc: 'frameDeny not a boolean', options: { frameDeny: 'yes' }, error: 'frameDeny: expected a boolean' },
    { desc: 'unknown key', options: { stsSecnds: 1 }, error: 'stsSecnds: unknown option' },
    {
      desc: 'bad origin regex',
      options: { accessControlAllowOriginListRegex: ['('] },
      error: /accessControlAllowOriginListRegex\[0\]: invalid regular expression/,
    },
    {
      desc: 'custom headers not a map',
      options: { customRequestHeaders: 'X-A: 1' },
      error: 'customRequestHeaders: expected a map of strings',
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const built = headersFactory(c.options, {
        name: 'x@file',
        logger: undefined as never,
        service: () => undefined,
        tmpDir: '/tmp',
      });
      assert.ok('error' in built);
      if (typeof c.error === 'string') assert.equal(built.error, c.error);
      else assert.match(built.error, c.error);
    });
  }
});
