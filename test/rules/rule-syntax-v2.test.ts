/**
 * The v2 rule language beyond Traefik's own tables: how gorilla/mux templates become regexps, Query's
 * first-value semantics, what the host index learns from v2 rules, how v2 and v3 read the same text,
 * and how `core.defaultRuleSyntax` fills routers' `ruleSyntax`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import { decodeContainers } from '../../src/config/labels/decode.ts';
import { defaultPriority, parseHttpRule } from '../../src/rules/http-rule.ts';
import { templateToGoRegexp } from '../../src/rules/mux-template.ts';
import { withDefaultRuleSyntax } from '../../src/rules/rule-syntax.ts';
import { container, options } from '../config/labels/fixtures.ts';
import { httpReq } from './helpers.ts';

describe('gorilla/mux templates', () => {
  const cases: [string, 'host' | 'path' | 'prefix' | 'query', string | { error: RegExp }][] = [
    ['example.com', 'host', '(?i)^example\\.com$'],
    ['{sub}.example.com', 'host', '(?i)^(?:[^.]+)\\.example\\.com$'],
    ['{sub:[a-z]+}.example.com', 'host', '(?i)^(?:[a-z]+)\\.example\\.com$'],
    ['/api/{id}', 'path', '^/api/(?:[^/]+)$'],
    ['/api/{id:[0-9]{2}}', 'path', '^/api/(?:[0-9]{2})$'],
    ['/static/', 'prefix', '^/static/'],
    ['/a+b(c)', 'path', '^/a\\+b\\(c\\)$'],
    ['q=', 'query', '^q=.*$'],
    ['q={v}', 'query', '^q=(?:.*)$'],
    ['q=1', 'query', '^q=1$'],
    ['{test', 'host', { error: /unbalanced braces/ }],
    ['test}', 'path', { error: /unbalanced braces/ }],
    ['/{:[0-9]+}', 'path', { error: /missing name or pattern/ }],
    ['/{id:}', 'path', { error: /missing name or pattern/ }],
    ['/{a:x)|(y}', 'path', { error: /invalid pattern/ }],
  ];
  for (const [tpl, kind, want] of cases) {
    test(`${kind} ${tpl}`, () => {
      const got = templateToGoRegexp(tpl, kind);
      if (typeof want === 'string') assert.deepEqual(got, { source: want });
      else assert.match('error' in got ? got.error : '', want.error);
    });
  }
});

describe('v2 Query', () => {
  const match = (rule: string, query: string): boolean => {
    const r = parseHttpRule(rule, 'v2');
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.rule.match(httpReq({ query }));
  };
  test('only the first value of the key counts', () => {
    assert.equal(match('Query(`q=1`)', 'q=2&q=1'), false);
    assert.equal(match('Query(`q=1`)', 'q=1&q=2'), true);
  });
  test('`;` separates pairs too, and values are unescaped', () => {
    assert.equal(match('Query(`q=a b`)', 'x=1;q=a+b'), true);
    assert.equal(match('Query(`q=a/b`)', 'q=a%2Fb'), true);
  });
  test('`key=` takes any value, even none; an absent key does not match', () => {
    assert.equal(match('Query(`q=`)', 'q=anything'), true);
    assert.equal(match('Query(`q=`)', 'q'), true);
    assert.equal(match('Query(`q=`)', 'other=1'), false);
  });
  test('values are templates', () => {
    assert.equal(match('Query(`id={id:[0-9]+}`)', 'id=42'), true);
    assert.equal(match('Query(`id={id:[0-9]+}`)', 'id=4x'), false);
  });
  test('values split at their first `=` are paired, as mux pairs them', () => {
    assert.equal(match('Query(`a`, `b`)', 'a=b'), true);
    assert.equal(parseHttpRule('Query(`a`, `b=c`)', 'v2').ok, false);
  });
  test('several pairs must all match', () => {
    assert.equal(match('Query(`a=1`, `b=2`)', 'a=1&b=2'), true);
    assert.equal(match('Query(`a=1`, `b=2`)', 'a=1'), false);
  });
});

describe('v2 Headers', () => {
  test('several pairs must all match; names are case-insensitive', () => {
    const r = parseHttpRule('Headers(`X-A`, `1`, `x-b`, `2`)', 'v2');
    assert.ok(r.ok, r.ok ? '' : r.error);
    const req = (raw: string[]) => httpReq({ rawHeaders: raw, headers: {} });
    assert.equal(r.rule.match(req(['x-a', '1', 'X-B', '2'])), true);
    assert.equal(r.rule.match(req(['x-a', '1'])), false);
  });
});

describe('v2 rules and the host index', () => {
  const hosts = (rule: string) => {
    const r = parseHttpRule(rule, 'v2');
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.rule.hosts;
  };
  test('Host and HostHeader name literal hosts, all their values', () => {
    assert.deepEqual(hosts('Host(`A.example`, `b.example.`)'), ['a.example', 'b.example']);
    assert.deepEqual(hosts('HostHeader(`a.example`) && Path(`/x`)'), ['a.example']);
    assert.equal(hosts('HostRegexp(`{s}.example`)'), null);
    assert.equal(hosts('!Host(`a.example`)'), null);
  });
  test('a v2 Host has no wildcard: `*.example` is the literal name', () => {
    const r = parseHttpRule('Host(`*.example`)', 'v2');
    assert.ok(r.ok);
    assert.equal(r.rule.match(httpReq({ host: 'a.example' })), false);
  });
});

describe('the same text in v2 and v3', () => {
  test('lists are v2 only', () => {
    assert.equal(parseHttpRule('Host(`a.example`, `b.example`)').ok, false);
    assert.equal(parseHttpRule('Host(`a.example`, `b.example`)', 'v2').ok, true);
  });
  test('v3-only matchers are unknown in v2 and the other way round', () => {
    assert.equal(parseHttpRule('PathRegexp(`^/a`)', 'v2').ok, false);
    assert.equal(parseHttpRule('Header(`X-A`, `1`)', 'v2').ok, false);
    assert.equal(parseHttpRule('Headers(`X-A`, `1`)').ok, false);
    assert.equal(parseHttpRule('HostHeader(`a`)').ok, false);
  });
  test('braces are a template in v2 and literal text in v3', () => {
    const v2 = parseHttpRule('PathPrefix(`/api/{id:[0-9]+}`)', 'v2');
    const v3 = parseHttpRule('PathPrefix(`/api/{id:[0-9]+}`)');
    assert.ok(v2.ok && v3.ok);
    assert.equal(v2.rule.match(httpReq({ path: '/api/42/x' })), true);
    assert.equal(v3.rule.match(httpReq({ path: '/api/42/x' })), false);
    assert.equal(v3.rule.match(httpReq({ path: '/api/{id:[0-9]+}' })), true);
  });
  test('the default priority is the rule length either way', () => {
    assert.equal(defaultPriority('Host(`a`, `bb`)'), 'Host(`a`, `bb`)'.length);
  });
  test('a backtracking template pattern is matched under the linear-time guard', () => {
    const r = parseHttpRule('Path(`/{x:(a+)+b}`)', 'v2');
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.equal(r.rule.match(httpReq({ path: `/${'a'.repeat(40)}c` })), false);
  });
});

describe('core.defaultRuleSyntax', () => {
  const config: DynamicConfig = {
    http: {
      routers: {
        a: { rule: 'Host(`a`)', service: 's' },
        b: { rule: 'Host(`b`)', service: 's', ruleSyntax: 'v3' },
      },
    },
    tcp: { routers: { t: { rule: 'HostSNI(`*`)', service: 's' } } },
  };
  test('v3 (or unset) leaves the configuration as it is', () => {
    assert.equal(withDefaultRuleSyntax(config, undefined), config);
    assert.equal(withDefaultRuleSyntax(config, 'v3'), config);
  });
  test('v2 fills the HTTP and TCP routers without their own ruleSyntax', () => {
    const out = withDefaultRuleSyntax(config, 'v2');
    assert.equal(out.http?.routers?.['a']?.ruleSyntax, 'v2');
    assert.equal(out.http?.routers?.['b']?.ruleSyntax, 'v3');
    assert.equal(out.tcp?.routers?.['t']?.ruleSyntax, 'v2');
    assert.equal(config.http?.routers?.['a']?.ruleSyntax, undefined, 'the input is not changed');
  });
});

describe('ruleSyntax from Docker labels', () => {
  const decode = (value: string) =>
    decodeContainers(
      [
        container({
          name: 'a',
          networks: { n: '127.0.10.1' },
          labels: {
            'traefik.enable': 'true',
            'traefik.http.routers.a.rule': 'Host(`a.example.com`, `b.example.com`)',
            'traefik.http.routers.a.rulesyntax': value,
            'traefik.tcp.routers.t.rule': 'HostSNI(`*`)',
            'traefik.tcp.routers.t.ruleSyntax': value,
            'traefik.tcp.services.t.loadbalancer.server.port': '5432',
            'traefik.http.services.a.loadbalancer.server.port': '80',
          },
        }),
      ],
      options(),
    );
  test('v2 is read into the router, without a warning', () => {
    const r = decode('v2');
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.config.http?.routers?.['a']?.ruleSyntax, 'v2');
    assert.equal(r.config.tcp?.routers?.['t']?.ruleSyntax, 'v2');
  });
  test('an unknown value is a warning and the rule is read as v3, as Traefik does', () => {
    const r = decode('v4');
    assert.equal(r.config.http?.routers?.['a']?.ruleSyntax, 'v4', 'the router is kept');
    assert.ok(
      r.diagnostics.some(
        (d) => d.level === 'warning' && /rulesyntax/i.test(d.element ?? '') && /"v4".*v3 syntax/.test(d.message),
      ),
      JSON.stringify(r.diagnostics),
    );
    assert.ok(!r.diagnostics.some((d) => d.level === 'error'));
  });
});
