import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultPriority, parseHttpRule } from '../../src/rules/http-rule.ts';
import { buildRouterIndex } from '../../src/rules/router-index.ts';
import { compareRouters } from '../../src/rules/router-order.ts';
import { buildSniIndex } from '../../src/rules/sni-index.ts';
import { parseTcpRule } from '../../src/rules/tcp-rule.ts';
import type { HttpRequestView } from '../../src/rules/types.ts';
import { httpReq, tcpConn } from './helpers.ts';

const RUNS = { numRuns: 500 };

function isResult(r: unknown): boolean {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as { ok?: unknown; error?: unknown; rule?: unknown };
  return o.ok === true
    ? typeof o.rule === 'object'
    : o.ok === false && typeof o.error === 'string' && o.error.length > 0;
}

test('arbitrary strings never throw and always give ok or an error', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (s) => {
      const h = parseHttpRule(s);
      const t = parseTcpRule(s);
      assert.ok(isResult(h) && isResult(t));
      assert.ok(isResult(parseHttpRule(s, 'v2')) && isResult(parseTcpRule(s, 'v2')));
      if (h.ok) h.rule.match(httpReq());
      if (t.ok) t.rule.match(tcpConn());
      defaultPriority(s);
    }),
    RUNS,
  );
});

const tokenSoup = fc
  .array(
    fc.constantFrom(
      'Host',
      'Path',
      'PathPrefix',
      'HostRegexp',
      'Header',
      'Query',
      'ClientIP',
      'HostSNI',
      'ALPN',
      'Hots',
      'Headers',
      'HostHeader',
      '`{a:[0-9]+}`',
      '`/{id}`',
      '`{`',
      '`k=v`',
      '(',
      ')',
      ',',
      '&&',
      '||',
      '!',
      '&',
      '|',
      ' ',
      '`a`',
      '`/x`',
      '"b"',
      '"\\x41"',
      '"\\q"',
      '`',
      '"',
      "'",
      '`(`',
      '`[`',
      '`*`',
      '`10.0.0.0/8`',
      '`^(a+)+$`',
    ),
    { maxLength: 40 },
  )
  .map((xs) => xs.join(''));

test('token soup never throws', () => {
  fc.assert(
    fc.property(tokenSoup, (s) => {
      assert.ok(isResult(parseHttpRule(s)));
      assert.ok(isResult(parseTcpRule(s)));
      const h2 = parseHttpRule(s, 'v2');
      const t2 = parseTcpRule(s, 'v2');
      assert.ok(isResult(h2) && isResult(t2));
      if (h2.ok) h2.rule.match(httpReq({ query: 'k=v&a=1' }));
      if (t2.ok) t2.rule.match(tcpConn());
    }),
    RUNS,
  );
});

/** A rule tree generated with its own evaluator, to check the parser's precedence against. */
type Tree = { kind: 'leaf'; header: string } | { kind: 'not'; x: Tree } | { kind: 'and' | 'or'; a: Tree; b: Tree };

const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', 'c', 'd').map((header): Tree => ({ kind: 'leaf', header })),
    tie('t').map((x): Tree => ({ kind: 'not', x })),
    fc
      .tuple(fc.constantFrom('and' as const, 'or' as const), tie('t'), tie('t'))
      .map(([kind, a, b]): Tree => ({ kind, a, b })),
  ),
})).t;

const PREC = { or: 1, and: 2, not: 3, leaf: 4 } as const;

/** Renders with the fewest parentheses the precedence rules allow, and random spacing/quotes. */
function render(t: Tree, quote: string, space: string): string {
  const wrap = (child: Tree, min: number) => {
    const s = render(child, quote, space);
    return PREC[child.kind] < min ? `(${s})` : s;
  };
  switch (t.kind) {
    case 'leaf':
      return `Header(${quote}${t.header}${quote},${space}${quote}1${quote})`;
    case 'not':
      return `!${wrap(t.x, PREC.not)}`;
    case 'and':
      return `${wrap(t.a, PREC.and)}${space}&&${space}${wrap(t.b, PREC.and + 1)}`;
    case 'or':
      return `${wrap(t.a, PREC.or)}${space}||${space}${wrap(t.b, PREC.or + 1)}`;
  }
}

function evaluate(t: Tree, on: ReadonlySet<string>): boolean {
  switch (t.kind) {
    case 'leaf':
      return on.has(t.header);
    case 'not':
      return !evaluate(t.x, on);
    case 'and':
      return evaluate(t.a, on) && evaluate(t.b, on);
    case 'or':
      return evaluate(t.a, on) || evaluate(t.b, on);
  }
}

test('grammar-shaped rules parse and evaluate as their tree does (precedence, !, parentheses)', () => {
  fc.assert(
    fc.property(
      tree,
      fc.constantFrom('`', '"'),
      fc.constantFrom('', ' ', '\n '),
      fc.subarray(['a', 'b', 'c', 'd']),
      (t, quote, space, on) => {
        const rule = render(t, quote, space);
        const r = parseHttpRule(rule);
        assert.ok(r.ok, `${rule}: ${r.ok ? '' : r.error}`);
        const req: HttpRequestView = httpReq({ headers: Object.fromEntries(on.map((h) => [h, '1'])) });
        assert.equal(r.rule.match(req), evaluate(t, new Set(on)), rule);
      },
    ),
    RUNS,
  );
});

const HOSTS = ['a.com', 'b.com', 'c.com', 'x.a.com'];
const httpTerm = fc.oneof(
  fc.constantFrom(...HOSTS).map((h) => `Host(\`${h}\`)`),
  fc.constantFrom('/', '/api', '/x').map((p) => `PathPrefix(\`${p}\`)`),
  fc.constantFrom('^a', 'com$', '^x\\.').map((re) => `HostRegexp(\`${re}\`)`),
  fc.constant('Host(`*.a.com`)'),
  fc.constant('Method(`POST`)'),
);
const httpRule: fc.Arbitrary<string> = fc.letrec<{ r: string }>((tie) => ({
  r: fc.oneof(
    { depthSize: 'small' },
    httpTerm,
    tie('r').map((x) => `!(${x})`),
    fc.tuple(tie('r'), fc.constantFrom('&&', '||'), tie('r')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
  ),
})).r;

test('the HTTP index agrees with a brute-force scan', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(httpRule, fc.option(fc.integer({ min: -3, max: 60 }), { nil: undefined })), {
        minLength: 0,
        maxLength: 12,
      }),
      fc.constantFrom(...HOSTS, 'z.com', 'y.a.com', ''),
      fc.constantFrom('/', '/api/v1', '/x'),
      fc.constantFrom('GET', 'POST'),
      (specs, host, path, method) => {
        const routers = specs.map(([rule, priority], i) => {
          const r = parseHttpRule(rule);
          assert.ok(r.ok, r.ok ? '' : r.error);
          return { name: `r${i % 4}-${i}`, priority: priority ?? defaultPriority(rule), rule: r.rule };
        });
        const req = httpReq({ host, path, method });
        const brute = [...routers].sort(compareRouters).find((r) => r.rule.match(req));
        assert.equal(buildRouterIndex(routers).find(req), brute);
      },
    ),
    RUNS,
  );
});

const tcpTerm = fc.oneof(
  fc.constantFrom(...HOSTS).map((h) => `HostSNI(\`${h}\`)`),
  fc.constant('HostSNI(`*`)'),
  fc.constant('HostSNI(`*.a.com`)'),
  fc.constantFrom('h2', 'http/1.1').map((p) => `ALPN(\`${p}\`)`),
  fc.constantFrom('127.0.0.1', '10.0.0.0/8').map((ip) => `ClientIP(\`${ip}\`)`),
);
const tcpRule: fc.Arbitrary<string> = fc.letrec<{ r: string }>((tie) => ({
  r: fc.oneof(
    { depthSize: 'small' },
    tcpTerm,
    tie('r').map((x) => `!(${x})`),
    fc.tuple(tie('r'), fc.constantFrom('&&', '||'), tie('r')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
  ),
})).r;

test('the SNI index agrees with a brute-force scan, TLS or not', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(tcpRule, fc.integer({ min: -2, max: 40 })), { maxLength: 10 }),
      fc.constantFrom(...HOSTS, 'z.com', 'y.a.com', ''),
      fc.subarray(['h2', 'http/1.1']),
      fc.constantFrom('127.0.0.1', '127.1.2.3'),
      (specs, sni, alpn, clientIp) => {
        const routers = specs.map(([rule, priority], i) => {
          const r = parseTcpRule(rule);
          assert.ok(r.ok, r.ok ? '' : r.error);
          return { name: `t${i}`, priority, rule: r.rule };
        });
        const conn = tcpConn({ sni, alpn, clientIp, tls: sni !== '' });
        const brute = [...routers].sort(compareRouters).find((r) => r.rule.match(conn));
        assert.equal(buildSniIndex(routers).find(conn), brute);
      },
    ),
    RUNS,
  );
});
