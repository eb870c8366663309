import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeDynamicConfig, parseDynamicText } from '../../../src/config/dynamic/decode.ts';
import type { DynamicConfig } from '../../../src/config/dynamic/types.ts';
import { formatDiagnostic } from '../../../src/lib/diagnostics.ts';

const SEED = readFileSync(new URL('../../fixtures/dynamic/seed-004.json', import.meta.url), 'utf8');
const SRC = 'file dyn.yml';

/** `element: message` lines, the shape assertions read best in. */
function problems(diags: readonly { element?: string; message: string; level: string }[]): string[] {
  return diags.map((d) => `${d.level} ${d.element ?? '-'}: ${d.message}`);
}

describe('decodeDynamicConfig: valid documents', () => {
  test('seed-004 control-plane JSON decodes unchanged', () => {
    const raw = JSON.parse(SEED) as unknown;
    const { config, diagnostics } = decodeDynamicConfig(raw, SRC);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(config, raw);
    const routers = config.http?.routers ?? {};
    assert.equal(Object.keys(routers).length, 2);
    for (const r of Object.values(routers)) assert.match(r.rule, /^Host\(`[^`]+`\) \|\| Host\(`[^`]+`\)$/);
    const servers = Object.values(config.http?.services ?? {}).flatMap((s) => s.loadBalancer?.servers ?? []);
    assert.ok(servers.every((s) => /^http:\/\/127\.0\.0\.\d+:\d+$/.test(s.url)));
  });

  const cases: { desc: string; raw: unknown; want: DynamicConfig }[] = [
    { desc: 'null document is an empty config', raw: null, want: {} },
    { desc: 'empty sections stay empty', raw: { http: {}, tcp: null }, want: { http: {}, tcp: {} } },
    {
      desc: 'keys are case-insensitive and come out canonical, names keep their case',
      raw: {
        HTTP: {
          Routers: {
            MyApi: {
              RULE: 'Host(`a`)',
              Service: 'Svc',
              EntryPoints: ['web'],
              Priority: 3,
              TLS: { CertResolver: 'le' },
            },
          },
        },
      },
      want: {
        http: {
          routers: {
            MyApi: {
              rule: 'Host(`a`)',
              service: 'Svc',
              entryPoints: ['web'],
              priority: 3,
              tls: { certResolver: 'le' },
            },
          },
        },
      },
    },
    {
      desc: 'numbers and booleans given as strings are coerced, as Traefik does',
      raw: {
        http: {
          routers: { r: { rule: 'Path(`/`)', service: 's', priority: '10' } },
          services: {
            s: { loadBalancer: { passHostHeader: 'false', servers: [{ url: 'http://127.0.0.1', weight: '2' }] } },
          },
        },
      },
      want: {
        http: {
          routers: { r: { rule: 'Path(`/`)', service: 's', priority: 10 } },
          services: {
            s: { loadBalancer: { passHostHeader: false, servers: [{ url: 'http://127.0.0.1', weight: 2 }] } },
          },
        },
      },
    },
    {
      desc: 'a comma-separated string is a list, an empty value is unset, tls: true is tls: {}',
      raw: {
        http: {
          routers: {
            r: { rule: 'Host(`a`)', service: 's', entryPoints: 'web, websecure', middlewares: null, tls: true },
          },
        },
      },
      want: {
        http: { routers: { r: { rule: 'Host(`a`)', service: 's', entryPoints: ['web', 'websecure'], tls: {} } } },
      },
    },
    {
      desc: 'middleware type and option names are canonicalised; header names keep their case',
      raw: {
        http: {
          middlewares: {
            h: { HEADERS: { STSSeconds: 31536000, customRequestHeaders: { 'X-Real-Thing': 'v' } } },
            gz: { compress: null },
          },
        },
      },
      want: {
        http: {
          middlewares: {
            h: { headers: { stsSeconds: 31536000, customRequestHeaders: { 'X-Real-Thing': 'v' } } },
            gz: { compress: {} },
          },
        },
      },
    },
    {
      desc: 'tcp, udp and tls sections',
      raw: {
        tcp: {
          routers: {
            pg: { rule: 'HostSNI(`*`)', service: 'pg', entryPoints: ['tcp-5432'], tls: { passthrough: true } },
          },
          services: { pg: { loadBalancer: { servers: [{ address: '127.0.0.5:5432' }] } } },
        },
        udp: {
          routers: { dns: { service: 'dns', entryPoints: ['udp-53'] } },
          services: { dns: { loadBalancer: { servers: [{ address: '127.0.0.5:53' }] } } },
        },
        tls: {
          certificates: [{ certFile: '/c.pem', keyFile: '/k.pem', stores: ['default'] }],
          options: { modern: { minVersion: 'VersionTLS13', sniStrict: true } },
          stores: { default: { defaultCertificate: { certFile: '/c.pem', keyFile: '/k.pem' } } },
        },
      },
      want: {
        tcp: {
          routers: {
            pg: { rule: 'HostSNI(`*`)', service: 'pg', entryPoints: ['tcp-5432'], tls: { passthrough: true } },
          },
          services: { pg: { loadBalancer: { servers: [{ address: '127.0.0.5:5432' }] } } },
        },
        udp: {
          routers: { dns: { service: 'dns', entryPoints: ['udp-53'] } },
          services: { dns: { loadBalancer: { servers: [{ address: '127.0.0.5:53' }] } } },
        },
        tls: {
          certificates: [{ certFile: '/c.pem', keyFile: '/k.pem', stores: ['default'] }],
          options: { modern: { minVersion: 'VersionTLS13', sniStrict: true } },
          stores: { default: { defaultCertificate: { certFile: '/c.pem', keyFile: '/k.pem' } } },
        },
      },
    },
    {
      desc: 'durations accept a bare number of seconds',
      raw: {
        http: { serversTransports: { t: { forwardingTimeouts: { dialTimeout: 5, responseHeaderTimeout: '30s' } } } },
      },
      want: {
        http: { serversTransports: { t: { forwardingTimeouts: { dialTimeout: '5s', responseHeaderTimeout: '30s' } } } },
      },
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const { config, diagnostics } = decodeDynamicConfig(c.raw, SRC);
      assert.deepEqual(diagnostics, []);
      assert.deepEqual(config, c.want);
    });
  }
});

describe('decodeDynamicConfig: bad elements are dropped alone', () => {
  const good = { rule: 'Host(`ok.test`)', service: 'ok' };
  const cases: { desc: string; raw: unknown; want: DynamicConfig; problems: string[] }[] = [
    {
      desc: 'router rule of the wrong type',
      raw: { http: { routers: { api: { rule: 5, service: 's' }, ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: ['error http.routers.api.rule: expected a string, got number 5'],
    },
    {
      desc: 'unknown key in a router',
      raw: { http: { routers: { api: { rule: 'Host(`a`)', service: 's', entryPoint: 'web' }, ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: ['error http.routers.api.entryPoint: unknown key, did you mean "entryPoints"?'],
    },
    {
      desc: 'missing required keys are all reported',
      raw: { http: { routers: { api: {}, ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: [
        'error http.routers.api.service: missing required key',
        'error http.routers.api.rule: missing required key',
      ],
    },
    {
      desc: 'a required key with an empty value is missing',
      raw: { http: { routers: { api: { rule: null, service: 's' }, ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: ['error http.routers.api.rule: missing required key'],
    },
    {
      desc: 'the same key twice in different case',
      raw: { http: { routers: { api: { rule: 'Host(`a`)', Rule: 'Host(`b`)', service: 's' }, ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: [
        'error http.routers.api.Rule: duplicate key: "rule" and "Rule" name the same setting (keys are case-insensitive)',
      ],
    },
    {
      desc: 'a router that is not an object',
      raw: { http: { routers: { api: 'Host(`a`)', ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: ['error http.routers.api: expected an object, got the string "Host(`a`)"'],
    },
    {
      desc: 'a bad server deep in a service drops that service only',
      raw: {
        http: {
          services: {
            bad: { loadBalancer: { servers: [{ url: 'http://127.0.0.1' }, { address: 'x' }] } },
            ok: { loadBalancer: { servers: [{ url: 'http://127.0.0.2' }] } },
          },
        },
      },
      want: { http: { services: { ok: { loadBalancer: { servers: [{ url: 'http://127.0.0.2' }] } } } } },
      problems: [
        'error http.services.bad.loadBalancer.servers[1].address: unknown key (expected one of: url, weight, preservePath)',
        'error http.services.bad.loadBalancer.servers[1].url: missing required key',
      ],
    },
    {
      desc: 'a service with two types or none',
      raw: { http: { services: { two: { loadBalancer: {}, failover: { service: 'a', fallback: 'b' } }, none: {} } } },
      want: { http: { services: {} } },
      problems: [
        'error http.services.two: only one service type is allowed, got loadBalancer and failover; declare separate services instead',
        'error http.services.none: no service type defined (expected one of: loadBalancer, weighted, mirroring, failover)',
      ],
    },
    {
      desc: 'middlewares need exactly one known type with object options',
      raw: {
        http: {
          middlewares: {
            two: { compress: {}, headers: {} },
            none: {},
            unknown: { gzip: {} },
            list: { stripPrefix: ['/a'] },
            ok: { addPrefix: { prefix: '/x' } },
          },
        },
      },
      want: { http: { middlewares: { ok: { addPrefix: { prefix: '/x' } } } } },
      problems: [
        'error http.middlewares.two: exactly one middleware type expected, got 2 (compress, headers)',
        'error http.middlewares.none: no middleware type given',
        /* the list of known types is long; checked by prefix below */ 'error http.middlewares.unknown.gzip: unknown middleware type',
        'error http.middlewares.list.stripPrefix: expected an object or true/false, got a list',
      ],
    },
    {
      desc: 'a TCP-only middleware type is unknown under http',
      raw: { http: { middlewares: { c: { inFlightConn: { amount: 1 } } } } },
      want: { http: { middlewares: {} } },
      problems: ['error http.middlewares.c.inFlightConn: unknown middleware type'],
    },
    {
      desc: 'a bad TLS certificate is dropped, its neighbours kept',
      raw: { tls: { certificates: [{ certFile: '/a.pem' }, { certFile: '/b.pem', keyFile: '/b.key' }] } },
      want: { tls: { certificates: [{ certFile: '/b.pem', keyFile: '/b.key' }] } },
      problems: ['error tls.certificates[0].keyFile: missing required key'],
    },
    {
      desc: 'list items of the wrong type',
      raw: { http: { routers: { api: { rule: 'Host(`a`)', service: 's', entryPoints: ['web', 443] }, ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: ['error http.routers.api.entryPoints[1]: expected a string, got number 443'],
    },
    {
      desc: 'non-integer priority',
      raw: { http: { routers: { api: { rule: 'Host(`a`)', service: 's', priority: 1.5 }, ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: ['error http.routers.api.priority: expected an integer, got 1.5'],
    },
    {
      desc: 'unknown sections and section keys are reported, the rest kept',
      raw: { entryPoints: { web: {} }, http: { routes: {}, routers: { ok: good } } },
      want: { http: { routers: { ok: good } } },
      problems: [
        'error entryPoints: unknown key (expected one of: http, tcp, udp, tls)',
        'error http.routes: unknown key, did you mean "routers"?',
      ],
    },
    {
      desc: 'a section of the wrong type',
      raw: { http: [], tcp: { routers: 'x' }, udp: { routers: {} } },
      want: { tcp: {}, udp: { routers: {} } },
      problems: [
        'error http: expected an object, got a list',
        'error tcp.routers: expected an object (name → definition), got the string "x"',
      ],
    },
    {
      desc: 'a router named __proto__ is refused without touching any prototype',
      raw: JSON.parse(
        '{"http":{"routers":{"__proto__":{"rule":"Host(`a`)","service":"s"},"ok":{"rule":"Host(`ok.test`)","service":"ok"}}}}',
      ) as unknown,
      want: { http: { routers: { ok: good } } },
      problems: ['error http.routers.__proto__: reserved name; choose another'],
    },
    {
      desc: 'keys Traefik has but berth ignores are warnings and the element stays',
      raw: {
        http: {
          services: {
            m: {
              loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }], passiveHealthCheck: { maxFailedAttempts: 3 } },
            },
          },
        },
      },
      want: { http: { services: { m: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } } } },
      problems: [
        'warning http.services.m.loadBalancer.passiveHealthCheck: passiveHealthCheck has no effect in berth: servers are taken out of rotation by the active healthCheck only',
      ],
    },
    {
      desc: 'TCP middlewares and the routers using them are kept',
      raw: {
        tcp: {
          middlewares: { lim: { inFlightConn: { amount: 10 } } },
          routers: { pg: { rule: 'HostSNI(`*`)', service: 'pg', middlewares: ['lim'] } },
        },
      },
      want: {
        tcp: {
          middlewares: { lim: { inFlightConn: { amount: 10 } } },
          routers: { pg: { rule: 'HostSNI(`*`)', service: 'pg', middlewares: ['lim'] } },
        },
      },
      problems: [],
    },
    {
      desc: 'an unknown middleware option is an error naming it; the middleware is dropped',
      raw: { http: { middlewares: { h: { headers: { stsSecond: 1 } } } } },
      want: { http: { middlewares: {} } },
      problems: ['error http.middlewares.h.headers.stsSecond: unknown key, did you mean "stsSeconds"?'],
    },
    {
      desc: 'an h2c:// server URL is kept without a warning (served over HTTP/2)',
      raw: { http: { services: { s: { loadBalancer: { servers: [{ url: 'h2c://127.0.0.1:9' }] } } } } },
      want: { http: { services: { s: { loadBalancer: { servers: [{ url: 'h2c://127.0.0.1:9' }] } } } } },
      problems: [],
    },
    {
      desc: 'a document that is not an object',
      raw: ['http'],
      want: {},
      problems: ['error -: expected an object with http, tcp, udp or tls sections'],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const { config, diagnostics } = decodeDynamicConfig(c.raw, SRC);
      assert.deepEqual(config, c.want);
      const got = problems(diagnostics);
      assert.equal(got.length, c.problems.length, got.join('\n'));
      c.problems.forEach((p, i) => {
        assert.ok(got[i]!.startsWith(p), `${got[i]} should start with ${p}`);
      });
      for (const d of diagnostics) assert.equal(d.source, SRC);
    });
  }

  test('diagnostics format as source: path: message', () => {
    const { diagnostics } = decodeDynamicConfig({ http: { routers: { api: { rule: 5, service: 's' } } } }, SRC);
    assert.equal(
      formatDiagnostic(diagnostics[0]!),
      'error: file dyn.yml: http.routers.api.rule: expected a string, got number 5',
    );
  });

  test('no Object.prototype pollution from hostile keys', () => {
    const raw = JSON.parse(
      '{"http":{"middlewares":{"m":{"headers":{"__proto__":{"polluted":1},"customRequestHeaders":{"__proto__":"x"}}}}}}',
    ) as unknown;
    const { config } = decodeDynamicConfig(raw, SRC);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(config.http?.middlewares?.['m'], undefined);
  });
});

describe('parseDynamicText', () => {
  const YAML_DOC = [
    'http:',
    '  routers:',
    '    app:',
    '      rule: "Host(`a.test`) || Host(`b.test`)"',
    '      service: app',
    '      entryPoints: [websecure]',
    '  services:',
    '    app:',
    '      loadBalancer:',
    '        servers:',
    '          - url: http://127.0.0.2:8080',
    '',
  ].join('\n');
  const want: DynamicConfig = {
    http: {
      routers: { app: { rule: 'Host(`a.test`) || Host(`b.test`)', service: 'app', entryPoints: ['websecure'] } },
      services: { app: { loadBalancer: { servers: [{ url: 'http://127.0.0.2:8080' }] } } },
    },
  };

  const ok: { desc: string; text: string; format?: 'yaml' | 'json'; want: DynamicConfig }[] = [
    { desc: 'YAML', text: YAML_DOC, want },
    { desc: 'YAML, format given', text: YAML_DOC, format: 'yaml', want },
    { desc: 'JSON, format given', text: JSON.stringify(want), format: 'json', want },
    { desc: 'JSON, detected', text: `  \n${JSON.stringify(want, null, 2)}`, want },
    { desc: 'JSON with a BOM', text: `\uFEFF${JSON.stringify(want)}`, want },
    { desc: 'seed-004 as JSON', text: SEED, format: 'json', want: JSON.parse(SEED) as DynamicConfig },
    { desc: 'seed-004 through the YAML parser', text: SEED, format: 'yaml', want: JSON.parse(SEED) as DynamicConfig },
    { desc: 'flow-style YAML that is not JSON', text: '{http: {routers: {}}}', want: { http: { routers: {} } } },
    {
      desc: 'YAML anchors and merge keys',
      text: 'x-lb: &lb\n  passHostHeader: true\nhttp:\n  services:\n    s:\n      loadBalancer:\n        <<: *lb\n        servers: [{url: "http://127.0.0.1"}]\n',
      want: {
        http: { services: { s: { loadBalancer: { passHostHeader: true, servers: [{ url: 'http://127.0.0.1' }] } } } },
      },
    },
    { desc: 'a comment-only YAML file is an empty config', text: '# nothing here yet\n', want: {} },
  ];
  for (const c of ok) {
    test(`parses ${c.desc}`, () => {
      const r = parseDynamicText(c.text, SRC, c.format);
      // The anchor document carries an unknown top-level key; everything else must be clean.
      const errs = r.diagnostics.filter((d) => d.element !== 'x-lb');
      assert.deepEqual(errs, []);
      assert.deepEqual(r.config, c.want);
    });
  }

  const bad: { desc: string; text: string; format?: 'yaml' | 'json'; message: RegExp }[] = [
    { desc: 'empty text', text: '', message: /empty/ },
    { desc: 'whitespace only', text: ' \n\t\n', message: /empty/ },
    {
      desc: 'truncated JSON',
      text: '{\n  "http": {\n    "routers": {',
      message: /^JSON syntax error at line 3, column 17/,
    },
    {
      desc: 'truncated JSON inside a string',
      text: '{"http": {"rou',
      message: /^JSON syntax error at line 1, column 15/,
    },
    {
      desc: 'JSON with a trailing comma',
      text: '{\n  "http": {},\n}',
      format: 'json',
      message: /^JSON syntax error at line 3, column 1/,
    },
    {
      desc: 'JSON garbage after the document',
      text: '{} x',
      format: 'json',
      message: /^JSON syntax error at line 1, column 4/,
    },
    {
      desc: 'YAML syntax error',
      text: 'http:\n  routers: [1\n  x: }',
      message: /^YAML syntax error at line \d+, column \d+/,
    },
    {
      desc: 'YAML duplicate keys',
      text: 'http: {}\nhttp: {}\n',
      message: /^YAML syntax error at line 2, column 1: Map keys must be unique/,
    },
    { desc: 'YAML tab indentation', text: 'http:\n\trouters: {}\n', message: /^YAML syntax error at line 2/ },
    { desc: 'several YAML documents', text: 'http: {}\n---\ntcp: {}\n', message: /^YAML syntax error/ },
    { desc: 'a scalar', text: '<html>502 Bad Gateway</html>', message: /got a string/ },
    { desc: 'a list', text: '[1, 2]', message: /got a list/ },
    { desc: 'JSON null', text: 'null', message: /got null/ },
    {
      desc: 'a YAML alias bomb',
      text: `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
      message: /YAML error: .*alias/i,
    },
  ];
  for (const c of bad) {
    test(`refuses ${c.desc}`, () => {
      const r = parseDynamicText(c.text, SRC, c.format);
      assert.equal(r.config, undefined);
      assert.equal(r.diagnostics.length, 1, JSON.stringify(r.diagnostics));
      assert.equal(r.diagnostics[0]!.level, 'error');
      assert.equal(r.diagnostics[0]!.source, SRC);
      assert.match(r.diagnostics[0]!.message, c.message);
    });
  }

  test('element errors keep the config defined', () => {
    const r = parseDynamicText('http:\n  routers:\n    api:\n      rule: [1]\n      service: s\n', SRC);
    assert.deepEqual(r.config, { http: { routers: {} } });
    assert.deepEqual(problems(r.diagnostics), ['error http.routers.api.rule: expected a string, got a list']);
  });

  test('deeply nested hostile JSON does not throw', () => {
    const text = '['.repeat(200_000);
    const r = parseDynamicText(text, SRC, 'json');
    assert.equal(r.config, undefined);
    assert.match(r.diagnostics[0]!.message, /^JSON syntax error at line 1, column 200001/);
  });
});
