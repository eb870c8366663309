import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPriority, parseHttpRule } from '../../src/rules/http-rule.ts';
import type { HttpRequestView } from '../../src/rules/types.ts';
import { httpReq } from './helpers.ts';

function matches(rule: string, req: HttpRequestView): boolean {
  const r = parseHttpRule(rule);
  assert.ok(r.ok, `rule ${rule} should parse: ${r.ok ? '' : r.error}`);
  return r.rule.match(req);
}

describe('HTTP matchers', () => {
  const cases: { desc: string; rule: string; req: Partial<HttpRequestView>; want: boolean }[] = [
    { desc: 'Host equal', rule: 'Host(`example.com`)', req: { host: 'example.com' }, want: true },
    {
      desc: 'Host is case-insensitive (rule side)',
      rule: 'Host(`EXAMPLE.com`)',
      req: { host: 'example.com' },
      want: true,
    },
    { desc: 'Host rule trailing dot ignored', rule: 'Host(`example.com.`)', req: { host: 'example.com' }, want: true },
    { desc: 'Host other host', rule: 'Host(`example.com`)', req: { host: 'example.org' }, want: false },
    { desc: 'Host is not a suffix match', rule: 'Host(`example.com`)', req: { host: 'a.example.com' }, want: false },
    { desc: 'Host *. matches one label', rule: 'Host(`*.example.com`)', req: { host: 'a.example.com' }, want: true },
    { desc: 'Host *. not two labels', rule: 'Host(`*.example.com`)', req: { host: 'a.b.example.com' }, want: false },
    { desc: 'Host *. not the apex', rule: 'Host(`*.example.com`)', req: { host: 'example.com' }, want: false },
    {
      desc: 'Host **. matches two labels',
      rule: 'Host(`**.example.com`)',
      req: { host: 'a.b.example.com' },
      want: true,
    },
    { desc: 'Host **. not the apex', rule: 'Host(`**.example.com`)', req: { host: 'example.com' }, want: false },
    { desc: 'Host **. not a lookalike', rule: 'Host(`**.example.com`)', req: { host: 'badexample.com' }, want: false },
    { desc: 'HostRegexp unanchored', rule: 'HostRegexp(`example`)', req: { host: 'www.example.com' }, want: true },
    {
      desc: 'HostRegexp anchored',
      rule: 'HostRegexp(`^[a-z]+\\.example\\.com$`)',
      req: { host: 'www.example.com' },
      want: true,
    },
    {
      desc: 'HostRegexp anchored miss',
      rule: 'HostRegexp(`^example\\.com$`)',
      req: { host: 'www.example.com' },
      want: false,
    },
    { desc: 'HostRegexp (?i)', rule: 'HostRegexp(`(?i)^WWW\\.`)', req: { host: 'www.example.com' }, want: true },
    {
      desc: 'HostRegexp sees the trailing dot Traefik keeps (canonical host)',
      rule: 'HostRegexp(`^example\\.com$`)',
      req: { host: 'example.com', canonicalHost: 'example.com.' },
      want: false,
    },
    {
      desc: 'Host ignores the trailing dot (canonical host)',
      rule: 'Host(`example.com`)',
      req: { host: 'example.com', canonicalHost: 'example.com.' },
      want: true,
    },
    { desc: 'Path exact', rule: 'Path(`/api`)', req: { path: '/api' }, want: true },
    { desc: 'Path not a prefix', rule: 'Path(`/api`)', req: { path: '/api/x' }, want: false },
    { desc: 'Path is case-sensitive', rule: 'Path(`/API`)', req: { path: '/api' }, want: false },
    { desc: 'PathPrefix', rule: 'PathPrefix(`/api`)', req: { path: '/api/x' }, want: true },
    {
      desc: 'PathPrefix is a string prefix, not a segment prefix',
      rule: 'PathPrefix(`/api`)',
      req: { path: '/apix' },
      want: true,
    },
    { desc: 'PathPrefix miss', rule: 'PathPrefix(`/api`)', req: { path: '/ap' }, want: false },
    { desc: 'PathRegexp unanchored', rule: 'PathRegexp(`\\.(jpg|png)`)', req: { path: '/img/a.png' }, want: true },
    { desc: 'PathRegexp anchored miss', rule: 'PathRegexp(`^/img$`)', req: { path: '/img/a.png' }, want: false },
    { desc: 'Method upper-cases its argument', rule: 'Method(`post`)', req: { method: 'POST' }, want: true },
    { desc: 'Method miss', rule: 'Method(`POST`)', req: { method: 'GET' }, want: false },
    {
      desc: 'Header canonical name',
      rule: 'Header(`X-Api-Key`, `k`)',
      req: { headers: { 'x-api-key': 'k' } },
      want: true,
    },
    {
      desc: 'Header value is case-sensitive',
      rule: 'Header(`X-Api-Key`, `K`)',
      req: { headers: { 'x-api-key': 'k' } },
      want: false,
    },
    { desc: 'Header absent', rule: 'Header(`X-Api-Key`, `k`)', req: {}, want: false },
    {
      desc: 'Header one of several values',
      rule: 'Header(`Set-Cookie`, `b`)',
      req: { headers: { 'set-cookie': ['a', 'b'] } },
      want: true,
    },
    { desc: 'Header named __proto__ is just absent', rule: 'Header(`__proto__`, `x`)', req: {}, want: false },
    {
      desc: 'Header named constructor is just absent',
      rule: 'HeaderRegexp(`constructor`, `.*`)',
      req: {},
      want: false,
    },
    {
      desc: 'Header value with a comma compared whole',
      rule: 'Header(`Accept`, `a`)',
      req: { headers: { accept: 'a, b' } },
      want: false,
    },
    {
      desc: "Header without header lines: Node's joined value is one value",
      rule: 'Header(`X-A`, `b`)',
      req: { headers: { 'x-a': 'a, b' } },
      want: false,
    },
    {
      desc: 'Header line sent twice matches either (header lines)',
      rule: 'Header(`X-A`, `b`)',
      req: { headers: { 'x-a': 'a, b' }, rawHeaders: ['X-A', 'a', 'x-a', 'b'] },
      want: true,
    },
    {
      desc: 'Header comma-joined line is one value (header lines)',
      rule: 'Header(`X-A`, `b`)',
      req: { headers: { 'x-a': 'a, b' }, rawHeaders: ['X-A', 'a, b'] },
      want: false,
    },
    {
      desc: 'Header second Content-Type line, which Node drops, still matches',
      rule: 'Header(`Content-Type`, `b`)',
      req: { headers: { 'content-type': 'a' }, rawHeaders: ['Content-Type', 'a', 'Content-Type', 'b'] },
      want: true,
    },
    {
      desc: 'HeaderRegexp tests each header line',
      rule: 'HeaderRegexp(`X-A`, `^b$`)',
      req: { rawHeaders: ['x-a', 'a', 'X-A', 'b'] },
      want: true,
    },
    {
      desc: 'Header lines: another name does not count',
      rule: 'Header(`X-A`, `b`)',
      req: { rawHeaders: ['X-Ab', 'b'] },
      want: false,
    },
    {
      desc: 'Header lines: a header the entrypoint removed is absent',
      rule: 'Header(`X-A`, `b`)',
      req: { rawHeaders: [] },
      want: false,
    },
    {
      desc: 'HeaderRegexp',
      rule: 'HeaderRegexp(`Content-Type`, `^application/(json|xml)`)',
      req: { headers: { 'content-type': 'application/json; charset=utf-8' } },
      want: true,
    },
    { desc: 'HeaderRegexp absent', rule: 'HeaderRegexp(`Content-Type`, `.*`)', req: {}, want: false },
    { desc: 'Query key and value', rule: 'Query(`mobile`, `true`)', req: { query: 'a=1&mobile=true' }, want: true },
    { desc: 'Query value mismatch', rule: 'Query(`mobile`, `true`)', req: { query: 'mobile=false' }, want: false },
    { desc: 'Query any of repeated values', rule: 'Query(`t`, `2`)', req: { query: 't=1&t=2' }, want: true },
    { desc: 'Query decodes + and %XX', rule: 'Query(`q`, `a b/c`)', req: { query: 'q=a+b%2Fc' }, want: true },
    { desc: 'Query(key) matches an empty value', rule: 'Query(`debug`)', req: { query: 'debug' }, want: true },
    { desc: 'Query(key) matches key=', rule: 'Query(`debug`)', req: { query: 'debug=' }, want: true },
    {
      desc: 'Query(key) needs an empty value, as in Traefik',
      rule: 'Query(`debug`)',
      req: { query: 'debug=1' },
      want: false,
    },
    { desc: 'Query absent', rule: 'Query(`debug`)', req: { query: '' }, want: false },
    { desc: 'Query pair with ; dropped (Go)', rule: 'Query(`a`, `1`)', req: { query: 'a=1;b=2' }, want: false },
    {
      desc: 'Query pair with bad escape dropped (Go)',
      rule: 'Query(`a`, `%zz`)',
      req: { query: 'a=%zz' },
      want: false,
    },
    { desc: 'QueryRegexp', rule: 'QueryRegexp(`id`, `^[0-9]+$`)', req: { query: 'id=42' }, want: true },
    { desc: 'QueryRegexp miss', rule: 'QueryRegexp(`id`, `^[0-9]+$`)', req: { query: 'id=x' }, want: false },
    { desc: 'QueryRegexp with one argument is Query', rule: 'QueryRegexp(`id`)', req: { query: 'id' }, want: true },
    { desc: 'ClientIP address', rule: 'ClientIP(`10.0.0.7`)', req: { clientIp: '10.0.0.7' }, want: true },
    { desc: 'ClientIP CIDR', rule: 'ClientIP(`10.0.0.0/8`)', req: { clientIp: '10.9.9.9' }, want: true },
    { desc: 'ClientIP CIDR miss', rule: 'ClientIP(`10.0.0.0/8`)', req: { clientIp: '11.0.0.1' }, want: false },
    { desc: 'ClientIP IPv6 CIDR', rule: 'ClientIP(`2001:db8::/32`)', req: { clientIp: '2001:db8::5' }, want: true },
    {
      desc: 'ClientIP with IPv4-mapped client',
      rule: 'ClientIP(`192.168.1.0/24`)',
      req: { clientIp: '::ffff:192.168.1.4' },
      want: true,
    },
    { desc: 'lower-case matcher name accepted', rule: 'host(`example.com`)', req: {}, want: true },
    { desc: 'upper-case matcher name accepted', rule: 'PATH(`/`)', req: {}, want: true },
    { desc: 'capitalised matcher name accepted', rule: 'Pathprefix(`/`)', req: {}, want: true },
    { desc: 'double-quoted values', rule: 'Host("example.com") && Path("/")', req: {}, want: true },
    {
      desc: 'escapes in double quotes',
      rule: 'Header("X-A", "a\\"b\\\\c\\x41")',
      req: { headers: { 'x-a': 'a"b\\cA' } },
      want: true,
    },
    {
      desc: 'backticks keep backslashes',
      rule: 'Header(`X-A`, `a\\nb`)',
      req: { headers: { 'x-a': 'a\\nb' } },
      want: true,
    },
    {
      desc: 'whitespace and newlines between tokens',
      rule: ' Host( `example.com` )\n\t&&\n Path ( `/` ) ',
      req: {},
      want: true,
    },
  ];
  for (const c of cases) {
    test(c.desc, () => assert.equal(matches(c.rule, httpReq(c.req)), c.want));
  }
});

describe('operators and precedence', () => {
  // Leaves are Header(`x`, `1`) style so each can be switched on or off per request.
  const leaf = (n: string) => `Header(\`${n}\`, \`1\`)`;
  const on = (...names: string[]) => httpReq({ headers: Object.fromEntries(names.map((n) => [n, '1'])) });
  const [a, b, c] = [leaf('a'), leaf('b'), leaf('c')];
  const cases = [
    { desc: '&& both', rule: `${a} && ${b}`, req: on('a', 'b'), want: true },
    { desc: '&& one', rule: `${a} && ${b}`, req: on('a'), want: false },
    { desc: '|| one', rule: `${a} || ${b}`, req: on('b'), want: true },
    { desc: '|| none', rule: `${a} || ${b}`, req: on(), want: false },
    { desc: '! inverts', rule: `!${a}`, req: on(), want: true },
    { desc: '!! is identity', rule: `!!${a}`, req: on('a'), want: true },
    { desc: '&& binds tighter than || (left)', rule: `${a} || ${b} && ${c}`, req: on('a'), want: true },
    { desc: '&& binds tighter than || (right)', rule: `${a} && ${b} || ${c}`, req: on('c'), want: true },
    { desc: '&& binds tighter than || (miss)', rule: `${a} || ${b} && ${c}`, req: on('b'), want: false },
    { desc: 'parentheses override', rule: `(${a} || ${b}) && ${c}`, req: on('a'), want: false },
    { desc: 'parentheses override (hit)', rule: `(${a} || ${b}) && ${c}`, req: on('b', 'c'), want: true },
    { desc: '! binds tighter than &&', rule: `!${a} && ${b}`, req: on('b'), want: true },
    { desc: '! binds tighter than && (miss)', rule: `!${a} && ${b}`, req: on('a', 'b'), want: false },
    { desc: '! over a group (De Morgan)', rule: `!(${a} && ${b})`, req: on('a'), want: true },
    { desc: '! over a group miss', rule: `!(${a} || ${b})`, req: on('b'), want: false },
    {
      desc: 'long || chain',
      rule: Array.from({ length: 50 }, (_, i) => leaf(`h${i}`)).join(' || '),
      req: on('h49'),
      want: true,
    },
    { desc: 'nested parentheses', rule: `((((${a}))))`, req: on('a'), want: true },
  ];
  for (const t of cases) test(t.desc, () => assert.equal(matches(t.rule, t.req), t.want));
});

describe('hosts (for the index)', () => {
  const cases: { desc: string; rule: string; want: string[] | null }[] = [
    { desc: 'single Host', rule: 'Host(`a.com`)', want: ['a.com'] },
    { desc: 'normalised', rule: 'Host(`A.com.`)', want: ['a.com'] },
    { desc: 'Host || Host', rule: 'Host(`a.com`) || Host(`b.com`)', want: ['a.com', 'b.com'] },
    { desc: 'duplicates merged', rule: 'Host(`a.com`) || Host(`A.com`)', want: ['a.com'] },
    { desc: 'Host && Path', rule: 'Host(`a.com`) && Path(`/x`)', want: ['a.com'] },
    { desc: 'Path && Host', rule: 'Path(`/x`) && Host(`a.com`)', want: ['a.com'] },
    { desc: 'Host || Path', rule: 'Host(`a.com`) || Path(`/x`)', want: null },
    { desc: '!Host', rule: '!Host(`a.com`)', want: null },
    { desc: 'no Host', rule: 'PathPrefix(`/`)', want: null },
    { desc: 'HostRegexp', rule: 'HostRegexp(`^a\\.com$`)', want: null },
    { desc: 'wildcard Host', rule: 'Host(`*.a.com`)', want: null },
    { desc: 'intersection of two groups', rule: '(Host(`a`) || Host(`b`)) && (Host(`b`) || Host(`c`))', want: ['b'] },
    { desc: 'disjoint && matches nothing', rule: 'Host(`a`) && Host(`b`)', want: [] },
    { desc: 'Host && (Host || Path)', rule: 'Host(`a`) && (Host(`b`) || Path(`/`))', want: ['a'] },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseHttpRule(c.rule);
      assert.ok(r.ok);
      assert.deepEqual(
        r.rule.hosts === null ? null : [...r.rule.hosts].sort(),
        c.want === null ? null : [...c.want].sort(),
      );
    });
  }
});

describe('invalid rules are errors, not exceptions', () => {
  const cases: { desc: string; rule: string; error: RegExp }[] = [
    { desc: 'empty', rule: '', error: /rule is empty/ },
    { desc: 'blank', rule: '   ', error: /rule is empty/ },
    { desc: 'empty Host value', rule: 'Host(``)', error: /Host at 0: argument 1 is empty/ },
    { desc: 'empty second value', rule: 'Query(`q`, ``)', error: /Query at 0: argument 2 is empty/ },
    { desc: 'empty value under !', rule: '!Method(``)', error: /Method at 1: argument 1 is empty/ },
    { desc: 'misspelt matcher', rule: 'Hots(`a`)', error: /unknown matcher Hots at 0 — did you mean Host\?/ },
    { desc: 'unknown matcher far from any', rule: 'Frobnicate(`a`)', error: /unknown matcher Frobnicate/ },
    { desc: 'TCP matcher in HTTP rule', rule: 'HostSNI(`a`)', error: /unknown matcher HostSNI/ },
    { desc: 'too many arguments', rule: 'Host(`a`, `b`)', error: /Host takes 1 argument, got 2/ },
    { desc: 'no arguments', rule: 'Path()', error: /Path takes 1 argument, got 0/ },
    { desc: 'Header needs 2', rule: 'Header(`a`)', error: /Header takes 2 arguments, got 1/ },
    { desc: 'Query 1 or 2', rule: 'Query(`a`, `b`, `c`)', error: /Query takes 1 or 2 arguments, got 3/ },
    { desc: 'stray closing parenthesis', rule: 'Host(`example.com`))', error: /unexpected token '\)' at 19/ },
    {
      desc: 'unclosed parenthesis',
      rule: '(Host(`a`)',
      error: /unexpected end of rule at 10, expected '\)' to close '\(' at 0/,
    },
    { desc: 'dangling &&', rule: 'Host(`a`) &&', error: /unexpected end of rule/ },
    {
      desc: 'single &',
      rule: 'Host(`a`) & Path(`/`)',
      error: /unexpected character '&' at 10 \(did you mean '&&'\?\)/,
    },
    { desc: 'single |', rule: 'Host(`a`) | Path(`/`)', error: /did you mean '\|\|'/ },
    { desc: 'missing operator', rule: 'Host(`a`) Path(`/`)', error: /unexpected token 'Path' at 10/ },
    { desc: 'single quotes refused', rule: "Host('a')", error: /single quotes are not accepted at 5/ },
    { desc: 'bare word argument', rule: 'Host(a)', error: /unexpected token 'a' at 5, expected a value/ },
    { desc: 'unterminated backtick', rule: 'Host(`a)', error: /unterminated string starting at 5/ },
    { desc: 'unterminated double quote', rule: 'Host("a)', error: /unterminated string starting at 5/ },
    { desc: 'bad escape', rule: 'Host("a\\q")', error: /invalid escape sequence/ },
    { desc: 'missing comma', rule: 'Header(`a` `b`)', error: /expected ',' or '\)'/ },
    { desc: 'matcher without call', rule: 'Host', error: /expected '\(' after Host/ },
    { desc: 'operator first', rule: '&& Host(`a`)', error: /unexpected token '&&' at 0/ },
    { desc: 'unexpected character', rule: 'Host(`a`) + Path(`/`)', error: /unexpected character "\+" at 10/ },
    { desc: 'invalid regexp', rule: 'PathRegexp(`(`)', error: /PathRegexp at 0: invalid regexp/ },
    { desc: 'lookaround refused as in Go', rule: 'PathRegexp(`a(?=b)`)', error: /lookarounds are not supported/ },
    {
      desc: 'back-reference refused as in Go',
      rule: 'HostRegexp(`(a)\\1`)',
      error: /back-references are not supported/,
    },
    { desc: 'Path without /', rule: 'Path(`api`)', error: /does not start with a '\/'/ },
    { desc: 'PathPrefix without /', rule: 'PathPrefix(`api`)', error: /does not start with a '\/'/ },
    { desc: 'non-ASCII Host', rule: 'Host(`bücher.de`)', error: /non-ASCII/ },
    { desc: 'invalid ClientIP', rule: 'ClientIP(`10.0.0.300`)', error: /invalid IP address or CIDR/ },
    { desc: 'invalid ClientIP prefix', rule: 'ClientIP(`10.0.0.0/33`)', error: /invalid IP address or CIDR/ },
    { desc: 'rule too long', rule: 'Host(`' + 'a'.repeat(70_000) + '`)', error: /rule is too long/ },
    { desc: 'nested too deeply', rule: '('.repeat(5000) + 'Host(`a`)' + ')'.repeat(5000), error: /nested too deeply/ },
    { desc: 'too many negations', rule: '!'.repeat(5000) + 'Host(`a`)', error: /nested too deeply/ },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseHttpRule(c.rule);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
  test('errors quote at most a short piece of a huge rule', () => {
    for (const rule of ['X'.repeat(60_000) + '(`a`)', 'Host(`a`) `' + 'b'.repeat(60_000) + '`']) {
      const r = parseHttpRule(rule);
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(r.error.length < 200, r.error.slice(0, 300));
    }
  });
  test('a long valid rule under the cap parses and matches', () => {
    const rule = Array.from({ length: 2000 }, (_, i) => `Host(\`h${i}.example.com\`)`).join(' || ');
    assert.ok(rule.length < 64 * 1024);
    const r = parseHttpRule(rule);
    assert.ok(r.ok);
    assert.equal(r.rule.hosts?.length, 2000);
    assert.equal(r.rule.match(httpReq({ host: 'h1999.example.com' })), true);
  });
  test('a non-string rule is an error', () => {
    const r = parseHttpRule(undefined as unknown as string);
    assert.equal(r.ok, false);
  });
});

describe('default priority', () => {
  const cases = [
    { desc: 'rule length', rule: 'Host(`example.com`)', want: 19 },
    { desc: 'whitespace counts', rule: 'Host(`a`)  &&  Path(`/`)', want: 24 },
    { desc: 'bytes, not characters', rule: 'Path(`/é`)', want: 11 },
    { desc: 'double wildcard stars do not count', rule: 'Host(`**.example.com`)', want: 20 },
    { desc: 'single wildcard counts in full', rule: 'Host(`*.example.com`)', want: 21 },
    { desc: 'negated double wildcard counts in full', rule: '!Host(`**.example.com`)', want: 23 },
    { desc: 'invalid rule: plain length', rule: 'Host(', want: 5 },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(defaultPriority(c.rule), c.want));
});
