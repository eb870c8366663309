/**
 * Keys of the dynamic configuration that take effect but had no test of their own: each case decodes
 * the key from a document, as a provider would, and shows what it does in the part that reads it.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeDynamicConfig } from '../../src/config/dynamic/decode.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import { HealthChecker } from '../../src/http/health-check.ts';
import { upstreamTarget } from '../../src/engine/upstream-target.ts';
import { LoadBalancer, type BalancedServer } from '../../src/http/load-balancer.ts';
import { contentTypeFactory } from '../../src/http/middlewares/content-type.ts';
import { forwardAuthFactory } from '../../src/http/middlewares/forward-auth.ts';
import { headersFactory } from '../../src/http/middlewares/headers.ts';
import { ipAllowListFactory } from '../../src/http/middlewares/ip-allow-list.ts';
import { failoverHandler, ServicePool, weightedHandler, type ServiceInfo } from '../../src/http/service-builder.ts';
import type { Handler } from '../../src/http/handler.ts';
import { buildTcpServices } from '../../src/tcp/service.ts';
import { decodeStaticConfig } from '../../src/config/static/decode.ts';
import { middlewareFactories } from '../../src/http/middlewares/registry.ts';
import { logger } from '../../src/lib/logger.ts';
import { mergeConfigs } from '../../src/pipeline/merge.ts';
import { compileSnapshot } from '../../src/pipeline/compile.ts';
import { fixedHandler, send, startHarness } from '../http/middlewares/harness.ts';

/** Decodes a document and insists it had nothing to say. */
function decode(raw: unknown): DynamicConfig {
  const r = decodeDynamicConfig(raw, 'test');
  assert.deepEqual(r.diagnostics, []);
  return r.config;
}

function middleware(raw: Record<string, unknown>): Record<string, unknown> {
  const m = decode({ http: { middlewares: { m: raw } } }).http?.middlewares?.['m'];
  assert.ok(m);
  const [options] = Object.values(m);
  assert.ok(options);
  return options;
}

describe('headers: XSS, report-only CSP and public key pins', () => {
  const cases = [
    {
      desc: 'customBrowserXSSValue replaces the X-XSS-Protection value',
      options: { customBrowserXSSValue: '0' },
      header: 'x-xss-protection',
      want: '0',
    },
    {
      desc: 'contentSecurityPolicyReportOnly',
      options: { contentSecurityPolicyReportOnly: "default-src 'self'" },
      header: 'content-security-policy-report-only',
      want: "default-src 'self'",
    },
    {
      desc: 'publicKey on HTTPS',
      options: { publicKey: 'pin-sha256="x"; max-age=60' },
      header: 'public-key-pins',
      want: 'pin-sha256="x"; max-age=60',
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(headersFactory, middleware({ headers: c.options }), { scheme: 'https' });
      try {
        assert.equal((await send(h.port)).headers[c.header], c.want);
      } finally {
        await h.close();
      }
    });
  }
});

describe('contentType.autoDetect', () => {
  for (const [autoDetect, want] of [
    [true, 'text/html; charset=utf-8'],
    [false, undefined],
  ] as const) {
    test(`autoDetect ${autoDetect}`, async () => {
      const h = await startHarness(contentTypeFactory, middleware({ contentType: { autoDetect } }), {
        final: fixedHandler(200, {}, '<!DOCTYPE html><p>x</p>'),
      });
      try {
        assert.equal((await send(h.port)).headers['content-type'], want);
      } finally {
        await h.close();
      }
    });
  }
});

describe('ipStrategy.ipv6Subnet: a client is known by its /64', () => {
  for (const [ipv6Subnet, want] of [
    [64, 200],
    [undefined, 403],
  ] as const) {
    test(`ipv6Subnet ${ipv6Subnet ?? 'unset'} → ${want}`, async () => {
      const ipStrategy = { depth: 1, ...(ipv6Subnet !== undefined ? { ipv6Subnet } : {}) };
      const h = await startHarness(
        ipAllowListFactory,
        middleware({ ipAllowList: { sourceRange: ['2001:db8:0:1::/128'], ipStrategy } }),
      );
      try {
        assert.equal((await send(h.port, { headers: { 'x-forwarded-for': '2001:db8:0:1::abcd' } })).status, want);
      } finally {
        await h.close();
      }
    });
  }
});

describe('sticky.cookie attributes and server weights', () => {
  test('httpOnly, sameSite and maxAge are on the cookie; a server of weight 0 is never picked', async () => {
    const cfg = decode({
      http: {
        services: {
          s: {
            loadBalancer: {
              servers: [
                { url: 'http://127.0.0.1:1', weight: 0 },
                { url: 'http://127.0.0.1:2', weight: 2 },
              ],
              sticky: { cookie: { name: 'lb', httpOnly: true, sameSite: 'strict', maxAge: 60 } },
            },
          },
        },
      },
    });
    const lbDef = cfg.http!.services!['s']!.loadBalancer!;
    const servers: BalancedServer<string>[] = lbDef.servers!.map((s, i) => ({
      value: s.url,
      weight: s.weight ?? 1,
      id: `s${i}`,
      healthy: true,
    }));
    const lb = new LoadBalancer(servers, lbDef.sticky?.cookie, 's');
    const final: Handler = (req, res) => {
      const s = lb.pick(req)!;
      lb.stick(req, res, s);
      res.end(s.value);
    };
    const h = await startHarness([], {}, { final });
    try {
      const answers = await Promise.all([1, 2, 3].map(() => send(h.port)));
      assert.deepEqual(
        answers.map((a) => a.body.toString()),
        ['http://127.0.0.1:2', 'http://127.0.0.1:2', 'http://127.0.0.1:2'],
      );
      assert.equal(answers[0]!.headers['set-cookie']?.[0], 'lb=s1; Path=/; Max-Age=60; HttpOnly; SameSite=strict');
    } finally {
      await h.close();
    }
  });
});

function service(body: string, up: boolean): { handler: Handler; info: ServiceInfo } {
  return {
    handler: fixedHandler(200, {}, body),
    info: { name: body, type: 'loadBalancer', servers: () => [], available: () => up },
  };
}

describe('weighted and failover services', () => {
  test('weighted.services[].weight shares requests 3:1', async () => {
    const cfg = decode({
      http: {
        services: {
          w: {
            weighted: {
              services: [
                { name: 'a', weight: 3 },
                { name: 'b', weight: 1 },
              ],
            },
          },
        },
      },
    });
    const children = cfg.http!.services!['w']!.weighted!.services!.map((s) => ({
      name: s.name,
      weight: s.weight ?? 1,
    }));
    const all: Record<string, ReturnType<typeof service>> = { a: service('a', true), b: service('b', true) };
    const h = await startHarness([], {}, { final: weightedHandler('w', children, (n) => all[n]).handler });
    try {
      const bodies: string[] = [];
      for (let i = 0; i < 4; i++) bodies.push((await send(h.port)).body.toString());
      assert.deepEqual(bodies.sort(), ['a', 'a', 'a', 'b']);
    } finally {
      await h.close();
    }
  });

  test('failover.fallback answers while the main service has no healthy server', async () => {
    const f = decode({ http: { services: { f: { failover: { service: 'main', fallback: 'spare' } } } } }).http!
      .services!['f']!.failover!;
    const all: Record<string, ReturnType<typeof service>> = {
      main: service('main', false),
      spare: service('spare', true),
    };
    const h = await startHarness([], {}, { final: failoverHandler('f', f.service, f.fallback, (n) => all[n]).handler });
    try {
      assert.equal((await send(h.port)).body.toString(), 'spare');
    } finally {
      await h.close();
    }
  });
});

describe('serversTransports: serverName and idleConnTimeout reach the transport', () => {
  test('options', () => {
    const t = decode({
      http: {
        serversTransports: { t: { serverName: 'backend.internal', forwardingTimeouts: { idleConnTimeout: '7s' } } },
      },
    }).http!.serversTransports!['t']!;
    const pool = new ServicePool({ forwardingTimeouts: {} });
    const transport = pool.transport('t', t);
    assert.ok(!('error' in transport));
    const { options } = transport;
    assert.equal(options.serverName, 'backend.internal');
    assert.equal(options.idleConnTimeoutMs, 7000);
  });
});

describe('healthCheck.hostname is the Host of the check request', () => {
  test('hostname', async () => {
    const hosts: string[] = [];
    let seen!: () => void;
    const arrived = new Promise<void>((resolve) => {
      seen = resolve;
    });
    const upstream = createServer((req: IncomingMessage, res) => {
      hosts.push(req.headers.host ?? '');
      res.end();
      seen();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    const hc = decode({
      http: {
        services: {
          s: {
            loadBalancer: {
              servers: [{ url: `http://127.0.0.1:${port}` }],
              healthCheck: { path: '/health', hostname: 'app.internal', interval: '1h' },
            },
          },
        },
      },
    }).http!.services!['s']!.loadBalancer!.healthCheck!;
    const url = `http://127.0.0.1:${port}`;
    const checker = new HealthChecker(
      [{ value: upstreamTarget(url, new URL(url)), weight: 1, id: 'x', healthy: true }],
      hc,
    );
    checker.start();
    try {
      await arrived;
      assert.deepEqual(hosts, ['app.internal']);
    } finally {
      checker.stop();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});

describe('TCP services and transports', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const cfg = decode({
    tcp: {
      services: {
        direct: {
          loadBalancer: {
            servers: [
              { address: '127.0.0.1:1', weight: 0 },
              { address: '127.0.0.1:2', weight: 1 },
            ],
            terminationDelay: 250,
          },
        },
        viaTransport: { loadBalancer: { servers: [{ address: '127.0.0.1:3', tls: true }], serversTransport: 'tt' } },
        'both@file': {
          weighted: {
            services: [
              { name: 'direct', weight: 1 },
              { name: 'viaTransport', weight: 0 },
            ],
          },
        },
        // The merged configuration qualifies names (`name@provider`); a weighted child is looked up by its qualified name.
        'direct@file': {
          loadBalancer: {
            servers: [
              { address: '127.0.0.1:1', weight: 0 },
              { address: '127.0.0.1:2', weight: 1 },
            ],
          },
        },
        'viaTransport@file': { loadBalancer: { servers: [{ address: '127.0.0.1:3' }] } },
      },
      serversTransports: {
        tt: { dialTimeout: '2s', terminationDelay: '1s', tls: { insecureSkipVerify: true, rootCAs: [PEM] } },
      },
    },
  });
  const built = buildTcpServices(cfg.tcp);
  const get = (n: string) => {
    const r = built.get(n);
    assert.ok(r?.ok, `service ${n}`);
    return r.service;
  };

  test('servers[].weight 0 is never picked; loadBalancer.terminationDelay is in ms', () => {
    const s = get('direct');
    assert.deepEqual(
      [s.pick(), s.pick()].map((t) => t?.address),
      ['127.0.0.1:2', '127.0.0.1:2'],
    );
    assert.equal(s.servers[0]!.options.terminationDelayMs, 250);
  });

  test('the transport sets dialTimeout, terminationDelay, tls.insecureSkipVerify and tls.rootCAs', () => {
    const o = get('viaTransport').servers[0]!.options;
    assert.equal(o.dialTimeoutMs, 2000);
    assert.equal(o.terminationDelayMs, 1000);
    assert.equal(o.tls.rejectUnauthorized, false);
    assert.deepEqual(o.tls.ca, [PEM]);
  });

  test('weighted.services[].weight 0 sends nothing to that service', () => {
    const s = get('both@file');
    assert.deepEqual(
      [s.pick(), s.pick()].map((t) => t?.address),
      ['127.0.0.1:2', '127.0.0.1:2'],
    );
  });
});

describe('middleware types berth does not implement are refused where they are used', () => {
  // digestAuth, grpcWeb, passTLSClientCert and plugin are refused by their factories (registry tests).
  test('circuitBreaker: the routers using it are disabled, with the reason', () => {
    const dynamic = decode({
      http: {
        routers: { r: { rule: 'Host(`a.test`)', service: 's', middlewares: ['cb'] } },
        services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } },
        middlewares: {
          cb: {
            circuitBreaker: {
              expression: 'NetworkErrorRatio() > 0.5',
              checkPeriod: '1s',
              fallbackDuration: '10s',
              recoveryDuration: '10s',
              responseCode: 503,
            },
          },
        },
      },
    });
    const st = decodeStaticConfig({ entryPoints: { web: { address: '127.0.0.1:0' } } }, 'test').config;
    assert.ok(st);
    const pool = new ServicePool({});
    const snap = compileSnapshot(mergeConfigs(new Map([['file', dynamic]])), 1, [], {
      staticConfig: st,
      pool,
      middlewares: middlewareFactories,
      internalServices: new Map(),
      logger: logger('test'),
      tmpDir: '/tmp',
    });
    pool.close();
    const r = snap.elements.get('r@file');
    assert.equal(r?.status, 'disabled');
    assert.match(r.errors.join('; '), /circuitBreaker/);
  });
});

describe('forwardAuth: headerField and maxBodySize', () => {
  async function authServer(): Promise<{ url: string; close(): Promise<void> }> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('x-user', 'alice');
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  test('headerField names the user for the access log', async () => {
    const auth = await authServer();
    const h = await startHarness(
      forwardAuthFactory,
      middleware({ forwardAuth: { address: auth.url, headerField: 'X-User' } }),
    );
    try {
      assert.equal((await send(h.port)).status, 200);
      assert.equal(h.contexts[0]?.extra?.clientUsername, 'alice');
    } finally {
      await h.close();
      await auth.close();
    }
  });

  test('maxBodySize: a forwarded body above it is refused', async () => {
    const auth = await authServer();
    const h = await startHarness(
      forwardAuthFactory,
      middleware({ forwardAuth: { address: auth.url, forwardBody: true, maxBodySize: 4 } }),
    );
    try {
      assert.equal((await send(h.port, { method: 'POST', body: 'abc' })).status, 200);
      assert.equal((await send(h.port, { method: 'POST', body: 'too long' })).status, 401);
    } finally {
      await h.close();
      await auth.close();
    }
  });
});
