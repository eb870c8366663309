import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStaticConfig } from '../../src/config/static/decode.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import { compileSnapshot, type CompileEnv } from '../../src/pipeline/compile.ts';
import { mergeConfigs } from '../../src/pipeline/merge.ts';
import { ServicePool } from '../../src/http/service-builder.ts';
import { middlewareFactories } from '../../src/http/middlewares/registry.ts';
import { logger } from '../../src/lib/logger.ts';
import type { HttpRequestView } from '../../src/rules/types.ts';

function env(): CompileEnv {
  const r = decodeStaticConfig(
    {
      entryPoints: {
        web: { address: '127.0.0.1:0', http: { redirections: { entryPoint: { to: 'websecure', scheme: 'https' } } } },
        websecure: { address: '127.0.0.1:0', http: { tls: {} } },
        admin: { address: '127.0.0.1:0' },
      },
    },
    'test',
  );
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return {
    staticConfig: r.config,
    pool: new ServicePool({}),
    middlewares: middlewareFactories,
    internalServices: new Map(),
    logger: logger('test'),
    tmpDir: '/tmp',
  };
}

const view = (host: string, path = '/'): HttpRequestView => ({
  host,
  path,
  method: 'GET',
  headers: { host },
  query: '',
  clientIp: '127.0.0.1',
});
const svc = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };

function compile(byProvider: Record<string, DynamicConfig>) {
  const e = env();
  const snap = compileSnapshot(mergeConfigs(new Map(Object.entries(byProvider))), 1, [], e);
  e.pool.close();
  return snap;
}

describe('merge qualifies names with their provider', () => {
  test('references without @ resolve in the same provider; explicit @ crosses providers', () => {
    const m = mergeConfigs(
      new Map<string, DynamicConfig>([
        [
          'docker',
          {
            http: {
              routers: { app: { rule: 'Host(`a`)', service: 'app', middlewares: ['auth@file', 'hsts'] } },
              services: { app: svc },
            },
          },
        ],
        ['file', { http: { middlewares: { auth: { basicAuth: { users: [] } } } } }],
      ]),
    );
    assert.deepEqual(m.http?.routers?.['app@docker']?.middlewares, ['auth@file', 'hsts@docker']);
    assert.equal(m.http?.routers?.['app@docker']?.service, 'app@docker');
    assert.ok(m.http?.middlewares?.['auth@file']);
  });
});

describe('compileSnapshot', () => {
  const cases: {
    desc: string;
    config: Record<string, DynamicConfig>;
    router: string;
    status: 'enabled' | 'disabled';
    error?: RegExp;
  }[] = [
    {
      desc: 'a valid router is enabled',
      config: { file: { http: { routers: { r: { rule: 'Host(`a.test`)', service: 's' } }, services: { s: svc } } } },
      router: 'r@file',
      status: 'enabled',
    },
    {
      desc: 'unknown service disables the router alone',
      config: { file: { http: { routers: { r: { rule: 'Host(`a.test`)', service: 'nope' } } } } },
      router: 'r@file',
      status: 'disabled',
      error: /unknown service "nope@file"/,
    },
    {
      desc: 'a bad rule disables the router',
      config: { file: { http: { routers: { r: { rule: 'Host(`a.test`', service: 's' } }, services: { s: svc } } } },
      router: 'r@file',
      status: 'disabled',
      error: /invalid rule/,
    },
    {
      desc: 'an unknown middleware disables the router',
      config: {
        file: {
          http: {
            routers: { r: { rule: 'Host(`a.test`)', service: 's', middlewares: ['ghost'] } },
            services: { s: svc },
          },
        },
      },
      router: 'r@file',
      status: 'disabled',
      error: /unknown middleware "ghost@file"/,
    },
    {
      desc: 'a middleware of an unknown type disables routers using it',
      config: {
        file: {
          http: {
            routers: { r: { rule: 'Host(`a.test`)', service: 's', middlewares: ['m'] } },
            services: { s: svc },
            middlewares: { m: { teleport: {} } },
          },
        },
      },
      router: 'r@file',
      status: 'disabled',
      error: /unknown middleware type "teleport"/,
    },
    {
      desc: 'a chain loop is reported',
      config: {
        file: {
          http: {
            routers: { r: { rule: 'Host(`a.test`)', service: 's', middlewares: ['c1'] } },
            services: { s: svc },
            middlewares: { c1: { chain: { middlewares: ['c2'] } }, c2: { chain: { middlewares: ['c1'] } } },
          },
        },
      },
      router: 'r@file',
      status: 'disabled',
      error: /middleware loop/,
    },
    {
      desc: 'a chain of valid middlewares is fine',
      config: {
        file: {
          http: {
            routers: { r: { rule: 'Host(`a.test`)', service: 's', middlewares: ['c'] } },
            services: { s: svc },
            middlewares: { c: { chain: { middlewares: ['h'] } }, h: { headers: { stsSeconds: 60 } } },
          },
        },
      },
      router: 'r@file',
      status: 'enabled',
    },
    {
      desc: 'an unknown serversTransport disables the service and its routers',
      config: {
        file: {
          http: {
            routers: { r: { rule: 'Host(`a.test`)', service: 's' } },
            services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }], serversTransport: 'x' } } },
          },
        },
      },
      router: 'r@file',
      status: 'disabled',
      error: /unknown service/,
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const snap = compile(c.config);
      const st = snap.elements.get(c.router);
      assert.equal(st?.status, c.status, JSON.stringify(st));
      if (c.error) assert.match(st!.errors.join('; '), c.error);
    });
  }

  test('routers attach to every entrypoint by default, TLS routers to the TLS tables, entrypoint tls makes routers TLS', () => {
    const snap = compile({
      file: {
        http: {
          routers: {
            plain: { rule: 'Host(`p.test`)', service: 's' },
            secure: { rule: 'Host(`s.test`)', service: 's', tls: {} },
            adminOnly: { rule: 'Host(`admin.test`)', service: 's', entryPoints: ['admin'] },
          },
          services: { s: svc },
        },
      },
    });
    assert.equal(snap.http.get('admin')?.plain.find(view('p.test'))?.name, 'plain@file');
    assert.equal(snap.http.get('admin')?.plain.find(view('admin.test'))?.name, 'adminOnly@file');
    assert.equal(
      snap.http.get('web')?.plain.find(view('admin.test'))?.name,
      'web-to-websecure@internal',
      'the web entrypoint redirects everything',
    );
    assert.equal(
      snap.http.get('websecure')?.tls.find(view('p.test'))?.name,
      'plain@file',
      'entrypoint http.tls makes its routers TLS',
    );
    assert.equal(snap.http.get('admin')?.tls.find(view('s.test'))?.name, 'secure@file');
    assert.equal(snap.http.get('admin')?.plain.find(view('s.test')), undefined);
  });

  test('priority: explicit beats default (rule length); longer rule wins by default', () => {
    const snap = compile({
      file: {
        http: {
          routers: {
            short: { rule: 'Host(`a.test`)', service: 's', entryPoints: ['admin'] },
            long: { rule: 'Host(`a.test`) && PathPrefix(`/api`)', service: 's', entryPoints: ['admin'] },
            boss: { rule: 'PathPrefix(`/`)', service: 's', entryPoints: ['admin'], priority: 10_000 },
          },
          services: { s: svc },
        },
      },
    });
    assert.equal(snap.http.get('admin')?.plain.find(view('a.test', '/api/x'))?.name, 'boss@file');
    const snap2 = compile({
      file: {
        http: {
          routers: {
            short: { rule: 'Host(`a.test`)', service: 's', entryPoints: ['admin'] },
            long: { rule: 'Host(`a.test`) && PathPrefix(`/api`)', service: 's', entryPoints: ['admin'] },
          },
          services: { s: svc },
        },
      },
    });
    assert.equal(snap2.http.get('admin')?.plain.find(view('a.test', '/api/x'))?.name, 'long@file');
    assert.equal(snap2.http.get('admin')?.plain.find(view('A.TEST'.toLowerCase(), '/other'))?.name, 'short@file');
  });

  test('the TLS options per SNI are compiled into the snapshot, with their problems', () => {
    const snap = compile({
      file: {
        http: {
          routers: {
            app: { rule: 'Host(`a.test`)', service: 's', tls: { options: 'modern' } },
            plain: { rule: 'Host(`p.test`)', service: 's', entryPoints: ['admin'] },
          },
          services: { s: svc },
        },
        tls: { options: { modern: { minVersion: 'VersionTLS13', cipherSuites: ['TLS_NOPE'] } } },
      },
    });
    assert.equal(snap.tlsPolicy.byHost.get('a.test')?.name, 'modern@file');
    assert.equal(snap.tlsPolicy.byHost.get('a.test')?.options.minVersion, 'TLSv1.3');
    assert.equal(snap.tlsPolicy.byHost.has('p.test'), false, 'a plain router names no TLS options');
    assert.equal(snap.tlsPolicy.wanted.get('app@file'), 'modern@file');
    assert.ok(snap.diagnostics.some((d) => d.element === 'tls.options.modern@file.cipherSuites'));
  });

  test('priority: a negative priority is kept (Traefik), below every router with a computed one', () => {
    const snap = compile({
      file: {
        http: {
          routers: {
            fallback: { rule: 'Host(`a.test`) && PathPrefix(`/`)', service: 's', entryPoints: ['admin'], priority: -1 },
            lower: { rule: 'Host(`a.test`) && PathPrefix(`/`)', service: 's', entryPoints: ['admin'], priority: -5 },
            short: { rule: 'Host(`a.test`)', service: 's', entryPoints: ['admin'] },
          },
          services: { s: svc },
        },
      },
    });
    assert.equal(snap.elements.get('fallback@file')?.status, 'enabled');
    assert.equal(
      snap.http.get('admin')?.plain.find(view('a.test', '/x'))?.name,
      'short@file',
      'the default priority (rule length) beats -1',
    );
    const snap2 = compile({
      file: {
        http: {
          routers: {
            fallback: { rule: 'PathPrefix(`/`)', service: 's', entryPoints: ['admin'], priority: -1 },
            lower: { rule: 'PathPrefix(`/`)', service: 's', entryPoints: ['admin'], priority: -5 },
          },
          services: { s: svc },
        },
      },
    });
    assert.equal(snap2.http.get('admin')?.plain.find(view('b.test', '/x'))?.name, 'fallback@file', '-1 before -5');
  });
});

describe('the generated web redirects only what a router asked to serve over TLS', () => {
  function generated(resolverOnWebsecure = false) {
    const r = decodeStaticConfig(
      {
        edge: { publicIPv4: '127.0.0.1', webPort: 18080, websecurePort: 18443 },
        certificatesResolvers: { le: { acme: { email: 'ops@example.com', storage: 'acme.json', tlsChallenge: {} } } },
        ...(resolverOnWebsecure
          ? { entryPoints: { websecure: { address: '127.0.0.1:18443', http: { tls: { certResolver: 'le' } } } } }
          : {}),
      },
      'test',
    );
    assert.ok(r.config, JSON.stringify(r.diagnostics));
    const e: CompileEnv = {
      staticConfig: r.config,
      pool: new ServicePool({}),
      middlewares: middlewareFactories,
      internalServices: new Map(),
      logger: logger('test'),
      tmpDir: '/tmp',
    };
    const snap = compileSnapshot(
      mergeConfigs(
        new Map<string, DynamicConfig>([
          [
            'docker',
            {
              http: {
                routers: {
                  secure: { rule: 'Host(`secure.test`)', service: 's', tls: { certResolver: 'le' } },
                  plain80: { rule: 'Host(`plain.test`)', service: 's', entryPoints: ['web'] },
                  everywhere: { rule: 'Host(`both.test`)', service: 's' },
                },
                services: { s: svc },
              },
            },
          ],
        ]),
      ),
      1,
      [],
      e,
    );
    e.pool.close();
    return snap;
  }
  const cases: { desc: string; onTarget?: boolean; host: string; want: string | undefined }[] = [
    { desc: 'a TLS router: redirected', host: 'secure.test', want: 'web-to-websecure@internal' },
    { desc: 'a router only on web: served plainly', host: 'plain.test', want: 'plain80@docker' },
    {
      desc: 'a router without tls on every entrypoint: served plainly, not sent to a certificate it never asked for',
      host: 'both.test',
      want: 'everywhere@docker',
    },
    { desc: 'an unknown host: 404, not a redirect', host: 'nobody.test', want: undefined },
    {
      desc: 'a resolver on websecure itself: every router there wants TLS',
      onTarget: true,
      host: 'both.test',
      want: 'web-to-websecure@internal',
    },
  ];
  for (const c of cases) {
    test(c.desc, () => assert.equal(generated(c.onTarget).http.get('web')?.plain.find(view(c.host))?.name, c.want));
  }

  test('without a resolver the generated web has no redirect at all', () => {
    const r = decodeStaticConfig({ edge: { publicIPv4: '127.0.0.1', webPort: 18080, websecurePort: 18443 } }, 'test');
    assert.ok(r.config);
    const e: CompileEnv = {
      staticConfig: r.config,
      pool: new ServicePool({}),
      middlewares: middlewareFactories,
      internalServices: new Map(),
      logger: logger('test'),
      tmpDir: '/tmp',
    };
    const snap = compileSnapshot(
      mergeConfigs(
        new Map<string, DynamicConfig>([
          [
            'docker',
            {
              http: {
                routers: {
                  secure: { rule: 'Host(`secure.test`)', service: 's', tls: {} },
                  app: { rule: 'Host(`app.test`)', service: 's' },
                },
                services: { s: svc },
              },
            },
          ],
        ]),
      ),
      1,
      [],
      e,
    );
    e.pool.close();
    assert.equal(snap.http.get('web')?.plain.find(view('app.test'))?.name, 'app@docker');
    assert.equal(
      snap.http.get('web')?.plain.find(view('secure.test')),
      undefined,
      'a TLS router is not served on plain HTTP',
    );
  });
});
