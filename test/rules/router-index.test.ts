import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHttpRule } from '../../src/rules/http-rule.ts';
import { buildRouterIndex } from '../../src/rules/router-index.ts';
import { compareRouters } from '../../src/rules/router-order.ts';
import { buildSniIndex } from '../../src/rules/sni-index.ts';
import { parseTcpRule } from '../../src/rules/tcp-rule.ts';
import type { HttpRule, TcpRule } from '../../src/rules/types.ts';
import { httpReq, tcpConn } from './helpers.ts';

interface R {
  name: string;
  priority: number;
  rule: HttpRule;
}
interface T {
  name: string;
  priority: number;
  rule: TcpRule;
}

function http(name: string, rule: string, priority = rule.length): R {
  const r = parseHttpRule(rule);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return { name, priority, rule: r.rule };
}

function tcp(name: string, rule: string, priority = rule.length): T {
  const r = parseTcpRule(rule);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return { name, priority, rule: r.rule };
}

describe('router order', () => {
  const cases = [
    { desc: 'higher priority first', a: { name: 'b', priority: 10 }, b: { name: 'a', priority: 5 }, want: -1 },
    { desc: 'lower priority last', a: { name: 'a', priority: 1 }, b: { name: 'b', priority: 2 }, want: 1 },
    {
      desc: 'negative priorities rank below zero',
      a: { name: 'a', priority: -1 },
      b: { name: 'b', priority: 0 },
      want: 1,
    },
    { desc: 'ties by name', a: { name: 'a@file', priority: 3 }, b: { name: 'b@docker', priority: 3 }, want: -1 },
    { desc: 'same router', a: { name: 'a', priority: 3 }, b: { name: 'a', priority: 3 }, want: 0 },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(compareRouters(c.a, c.b), c.want));
});

describe('HTTP router index', () => {
  const routers = [
    http('catch@file', 'PathPrefix(`/`)', 1),
    http('api@file', 'Host(`a.com`) && PathPrefix(`/api`)'),
    http('a@file', 'Host(`a.com`)'),
    http('b@file', 'Host(`b.com`) || Host(`c.com`)'),
    http('admin@file', 'PathPrefix(`/admin`)', 1000),
    http('low@file', 'Host(`low.com`)', -5),
    http('wild@file', 'Host(`*.w.com`)'),
  ];
  const index = buildRouterIndex(routers);
  const cases = [
    { desc: 'longest rule wins by default', host: 'a.com', path: '/api/x', want: 'api@file' },
    { desc: 'host router beats the low-priority catch-all', host: 'a.com', path: '/', want: 'a@file' },
    { desc: 'explicit priority beats length', host: 'a.com', path: '/admin', want: 'admin@file' },
    { desc: 'second host of an || rule', host: 'c.com', path: '/', want: 'b@file' },
    { desc: 'unknown host falls to catch-all', host: 'zzz.com', path: '/', want: 'catch@file' },
    { desc: 'negative priority loses to the catch-all', host: 'low.com', path: '/', want: 'catch@file' },
    { desc: 'wildcard host (not indexed) still found', host: 'x.w.com', path: '/', want: 'wild@file' },
  ];
  for (const c of cases) {
    test(c.desc, () => assert.equal(index.find(httpReq({ host: c.host, path: c.path }))?.name, c.want));
  }
  test('ordered lists every router, best first', () => {
    assert.deepEqual(
      index.ordered.map((r) => r.name),
      [...routers].sort(compareRouters).map((r) => r.name),
    );
    assert.equal(index.ordered[0]?.name, 'admin@file');
  });
  test('no router matches: undefined', () => {
    const only = buildRouterIndex([http('a', 'Host(`a.com`)')]);
    assert.equal(only.find(httpReq({ host: 'b.com' })), undefined);
  });
  test('empty index', () => {
    assert.equal(buildRouterIndex([]).find(httpReq()), undefined);
  });
  test('a router listing one host twice is tried once', () => {
    let calls = 0;
    const r = http('dup', 'Host(`a.com`) || Host(`A.com`)');
    const counted = {
      ...r,
      rule: {
        hosts: r.rule.hosts,
        match: () => {
          calls++;
          return false;
        },
      },
    };
    buildRouterIndex([counted]).find(httpReq({ host: 'a.com' }));
    assert.equal(calls, 1);
  });
});

describe('SNI index', () => {
  const routers = [
    tcp('fallback', 'HostSNI(`*`)', -1),
    tcp('db', 'HostSNI(`db.example.com`)'),
    tcp('db-h2', 'HostSNI(`db.example.com`) && ALPN(`h2`)'),
    tcp('lan', 'ClientIP(`10.0.0.0/8`)'),
  ];
  const index = buildSniIndex(routers);
  const cases = [
    { desc: 'named SNI', conn: tcpConn({ sni: 'db.example.com' }), want: 'db' },
    { desc: 'named SNI with ALPN is longer', conn: tcpConn({ sni: 'db.example.com', alpn: ['h2'] }), want: 'db-h2' },
    { desc: 'unknown SNI to the fallback', conn: tcpConn({ sni: 'x.org' }), want: 'fallback' },
    { desc: 'non-TLS to the fallback', conn: tcpConn({ sni: '', tls: false }), want: 'fallback' },
    {
      desc: 'non-TLS from the LAN: a rule without HostSNI',
      conn: tcpConn({ sni: '', tls: false, clientIp: '10.1.1.1' }),
      want: 'lan',
    },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(index.find(c.conn)?.name, c.want));
  test('non-TLS connections never reach a named HostSNI router', () => {
    const only = buildSniIndex([tcp('db', 'HostSNI(`db.example.com`)')]);
    assert.equal(only.find(tcpConn({ sni: '', tls: false })), undefined);
  });
  test('catchAll is visible on the result', () => {
    assert.equal(index.find(tcpConn({ sni: 'nope' }))?.rule.catchAll, true);
  });
});

/** Tiny deterministic PRNG so the random sets are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('index agrees with a brute-force scan on random router sets', () => {
  const hosts = ['a.com', 'b.com', 'c.com', 'd.com', 'x.a.com'];
  const paths = ['/', '/api', '/api/v1', '/x'];
  const terms = [
    () => `Host(\`${pick(hosts)}\`)`,
    () => `PathPrefix(\`${pick(paths)}\`)`,
    () => `Path(\`${pick(paths)}\`)`,
    () => `HostRegexp(\`^${pick(['a', 'b', 'x'])}\`)`,
    () => 'Method(`GET`)',
    () => `Host(\`*.a.com\`)`,
  ];
  let rand = rng(1);
  function pick<X>(xs: readonly X[]): X {
    return xs[Math.floor(rand() * xs.length)] as X;
  }
  function randomRule(depth = 0): string {
    const r = rand();
    if (depth > 2 || r < 0.4) return (terms[Math.floor(rand() * terms.length)] as () => string)();
    if (r < 0.55) return `!${randomRule(depth + 1)}`;
    return `(${randomRule(depth + 1)} ${rand() < 0.5 ? '&&' : '||'} ${randomRule(depth + 1)})`;
  }
  for (let seed = 1; seed <= 40; seed++) {
    test(`seed ${seed}`, () => {
      rand = rng(seed);
      const routers = Array.from({ length: 1 + Math.floor(rand() * 30) }, (_, i) => {
        const rule = randomRule();
        return http(`r${i}`, rule, rand() < 0.3 ? Math.floor(rand() * 5) : rule.length);
      });
      const index = buildRouterIndex(routers);
      const sorted = [...routers].sort(compareRouters);
      for (const host of [...hosts, 'zz.com', 'y.a.com']) {
        for (const path of paths) {
          const req = httpReq({ host, path });
          assert.equal(index.find(req)?.name, sorted.find((r) => r.rule.match(req))?.name, `${host}${path}`);
        }
      }
    });
  }
});
