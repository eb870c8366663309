/**
 * Traefik v3.7's own matcher tables (pkg/muxer/http/matcher_test.go), case by case: a rule, and for
 * each request whether it is routed (Traefik's 200) or not (404), or that the rule is refused. URLs
 * become request views as berth's entrypoint builds them (host normalised, path and query split).
 * Entries that only exist in Go's test harness (a non-canonical key put in the header map by hand)
 * have no wire form and are left out.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHttpRule } from '../../src/rules/http-rule.ts';
import type { HttpRequestView } from '../../src/rules/types.ts';
import { httpReq, requestFromUrl as fromUrl } from './helpers.ts';

interface Case {
  readonly desc: string;
  readonly rule: string;
  readonly expectedError?: true;
  /** Request → routed or not. */
  readonly expected?: ReadonlyMap<HttpRequestView, boolean> | Readonly<Record<string, boolean>>;
}

function run(name: string, cases: readonly Case[], toReq: (key: string) => HttpRequestView = (k) => fromUrl(k)): void {
  describe(`Traefik ${name}`, () => {
    for (const c of cases) {
      test(c.desc, () => {
        const r = parseHttpRule(c.rule);
        if (c.expectedError) {
          assert.equal(r.ok, false, `${c.rule} should be refused`);
          return;
        }
        assert.ok(r.ok, r.ok ? '' : r.error);
        const entries: [HttpRequestView, boolean, string][] =
          c.expected instanceof Map
            ? [...c.expected].map(([req, want]) => [req, want, JSON.stringify(req)])
            : Object.entries(c.expected ?? {}).map(([k, want]) => [toReq(k), want, k]);
        for (const [req, want, label] of entries) assert.equal(r.rule.match(req), want, label);
      });
    }
  });
}

run(
  'TestClientIPMatcher',
  [
    { desc: 'invalid ClientIP matcher', rule: 'ClientIP(`1`)', expectedError: true },
    { desc: 'invalid ClientIP matcher (no parameter)', rule: 'ClientIP()', expectedError: true },
    { desc: 'invalid ClientIP matcher (empty parameter)', rule: 'ClientIP(``)', expectedError: true },
    {
      desc: 'invalid ClientIP matcher (too many parameters)',
      rule: 'ClientIP(`127.0.0.1`, `192.168.1.0/24`)',
      expectedError: true,
    },
    {
      desc: 'valid ClientIP matcher',
      rule: 'ClientIP(`127.0.0.1`)',
      expected: { '127.0.0.1': true, '192.168.1.1': false },
    },
    {
      desc: 'valid ClientIP matcher but invalid remote address',
      rule: 'ClientIP(`127.0.0.1`)',
      expected: { '1': false },
    },
    {
      desc: 'valid ClientIP matcher using CIDR',
      rule: 'ClientIP(`192.168.1.0/24`)',
      expected: { '192.168.1.1': true, '192.168.1.100': true, '192.168.2.1': false },
    },
  ],
  (ip) => httpReq({ clientIp: ip }),
);

run(
  'TestMethodMatcher',
  [
    { desc: 'invalid Method matcher (no parameter)', rule: 'Method()', expectedError: true },
    { desc: 'invalid Method matcher (empty parameter)', rule: 'Method(``)', expectedError: true },
    { desc: 'invalid Method matcher (too many parameters)', rule: 'Method(`GET`, `POST`)', expectedError: true },
    { desc: 'valid Method matcher', rule: 'Method(`GET`)', expected: { GET: true, POST: false, get: false } },
    {
      desc: 'valid Method matcher (lower case)',
      rule: 'Method(`get`)',
      expected: { GET: true, POST: false, get: false },
    },
  ],
  (method) => httpReq({ method }),
);

run('TestHostMatcher', [
  { desc: 'invalid Host matcher (no parameter)', rule: 'Host()', expectedError: true },
  { desc: 'invalid Host matcher (empty parameter)', rule: 'Host(``)', expectedError: true },
  { desc: 'invalid Host matcher (non-ASCII)', rule: 'Host(`🦭.com`)', expectedError: true },
  {
    desc: 'invalid Host matcher (too many parameters)',
    rule: 'Host(`example.com`, `example.org`)',
    expectedError: true,
  },
  {
    desc: 'valid Host matcher',
    rule: 'Host(`example.com`)',
    expected: {
      'https://example.com': true,
      'https://example.com:8080': true,
      'https://example.com/path': true,
      'https://EXAMPLE.COM/path': true,
      'https://example.org': false,
      'https://example.org/path': false,
    },
  },
  {
    desc: 'valid Host matcher - matcher ending with a dot',
    rule: 'Host(`example.com.`)',
    expected: {
      'https://example.com': true,
      'https://example.com/path': true,
      'https://example.org': false,
      'https://example.org/path': false,
      'https://example.com.': true,
      'https://example.com./path': true,
      'https://example.org.': false,
      'https://example.org./path': false,
    },
  },
  {
    desc: 'valid Host matcher - URL ending with a dot',
    rule: 'Host(`example.com`)',
    expected: {
      'https://example.com.': true,
      'https://example.com./path': true,
      'https://example.org.': false,
      'https://example.org./path': false,
    },
  },
  {
    desc: 'valid Host matcher - matcher with UPPER case',
    rule: 'Host(`EXAMPLE.COM`)',
    expected: {
      'https://example.com': true,
      'https://example.com/path': true,
      'https://example.org': false,
      'https://example.org/path': false,
    },
  },
  {
    desc: 'valid Host matcher - puny-coded emoji',
    rule: 'Host(`xn--9t9h.com`)',
    expected: {
      'https://xn--9t9h.com': true,
      'https://xn--9t9h.com/path': true,
      'https://example.com': false,
      'https://example.com/path': false,
      'https://🦭.com': false,
    },
  },
  // v3.7 wildcard hosts (muxer.DomainMatchHostExpression: the first label is replaced by `*`).
  {
    desc: 'wildcard Host matches one more label',
    rule: 'Host(`*.example.com`)',
    expected: {
      'https://foo.example.com': true,
      'https://FOO.example.com:8443': true,
      'https://foo.bar.example.com': false,
      'https://example.com': false,
      'https://fooexample.com': false,
      'https://foo.example.com.': true,
    },
  },
  {
    desc: 'a lone * matches hosts without a dot',
    rule: 'Host(`*`)',
    expected: { 'https://localhost': true, 'https://example.com': false },
  },
  {
    desc: 'a * glued to a label never matches',
    rule: 'Host(`*foo.example.com`)',
    expected: { 'https://foo.example.com': false, 'https://xfoo.example.com': false },
  },
]);

run('TestHostRegexpMatcher', [
  { desc: 'invalid HostRegexp matcher (no parameter)', rule: 'HostRegexp()', expectedError: true },
  { desc: 'invalid HostRegexp matcher (empty parameter)', rule: 'HostRegexp(``)', expectedError: true },
  { desc: 'invalid HostRegexp matcher (non-ASCII)', rule: 'HostRegexp(`🦭.com`)', expectedError: true },
  { desc: 'invalid HostRegexp matcher (invalid regexp)', rule: 'HostRegexp(`(example.com`)', expectedError: true },
  {
    desc: 'invalid HostRegexp matcher (too many parameters)',
    rule: 'HostRegexp(`example.com`, `example.org`)',
    expectedError: true,
  },
  {
    desc: 'valid HostRegexp matcher',
    rule: 'HostRegexp(`^[a-zA-Z-]+\\.com$`)',
    expected: {
      'https://example.com': true,
      'https://example.com:8080': true,
      'https://example.com/path': true,
      'https://example.org': false,
      'https://example.org/path': false,
    },
  },
  {
    desc: 'HostRegexp sees the trailing dot of the request host (Host does not)',
    rule: 'HostRegexp(`^example\\.com$`)',
    expected: { 'https://example.com': true, 'https://example.com.': false, 'https://EXAMPLE.com.:443': false },
  },
  {
    desc: 'valid HostRegexp matcher with case sensitive regexp',
    rule: 'HostRegexp(`^[A-Z]+\\.com$`)',
    expected: {
      'https://example.com': false,
      'https://EXAMPLE.com': false,
      'https://example.com/path': false,
      'https://example.org': false,
      'https://example.org/path': false,
    },
  },
  {
    desc: 'valid HostRegexp matcher with Traefik v2 syntax',
    rule: 'HostRegexp(`{domain:[a-zA-Z-]+\\.com}`)',
    expected: {
      'https://example.com': false,
      'https://example.com/path': false,
      'https://example.org': false,
      'https://example.org/path': false,
    },
  },
]);

run('TestPathMatcher', [
  { desc: 'invalid Path matcher (no parameter)', rule: 'Path()', expectedError: true },
  { desc: 'invalid Path matcher (empty parameter)', rule: 'Path(``)', expectedError: true },
  { desc: 'invalid Path matcher (no leading /)', rule: 'Path(`css`)', expectedError: true },
  { desc: 'invalid Path matcher (too many parameters)', rule: 'Path(`/css`, `/js`)', expectedError: true },
  {
    desc: 'valid Path matcher',
    rule: 'Path(`/css`)',
    expected: {
      'https://example.com': false,
      'https://example.com/html': false,
      'https://example.org/css': true,
      'https://example.com/css': true,
      'https://example.com/css/': false,
      'https://example.com/css/main.css': false,
    },
  },
]);

run('TestPathRegexpMatcher', [
  { desc: 'invalid PathRegexp matcher (no parameter)', rule: 'PathRegexp()', expectedError: true },
  { desc: 'invalid PathRegexp matcher (empty parameter)', rule: 'PathRegexp(``)', expectedError: true },
  { desc: 'invalid PathRegexp matcher (invalid regexp)', rule: 'PathRegexp(`/(css`)', expectedError: true },
  { desc: 'invalid PathRegexp matcher (too many parameters)', rule: 'PathRegexp(`/css`, `/js`)', expectedError: true },
  {
    desc: 'valid PathRegexp matcher',
    rule: 'PathRegexp(`^/(css|js)`)',
    expected: {
      'https://example.com': false,
      'https://example.com/html': false,
      'https://example.org/css': true,
      'https://example.com/CSS': false,
      'https://example.com/css': true,
      'https://example.com/css/': true,
      'https://example.com/css/main.css': true,
      'https://example.com/js': true,
      'https://example.com/js/': true,
      'https://example.com/js/main.js': true,
    },
  },
  {
    // The routing path has %7B / %7D decoded (they are not reserved characters): the entrypoint's job.
    desc: 'valid PathRegexp matcher with Traefik v2 syntax',
    rule: 'PathRegexp("/{path:(css|js)}")',
    expected: {
      'https://example.com': false,
      'https://example.com/html': false,
      'https://example.org/css': false,
      'https://example.com/{path:css}': true,
      'https://example.com/{path:css}/': true,
      'https://example.com/{path:js}': true,
      'https://example.com/{path:js}/': true,
    },
  },
]);

run('TestPathPrefixMatcher', [
  { desc: 'invalid PathPrefix matcher (no parameter)', rule: 'PathPrefix()', expectedError: true },
  { desc: 'invalid PathPrefix matcher (empty parameter)', rule: 'PathPrefix(``)', expectedError: true },
  { desc: 'invalid PathPrefix matcher (no leading /)', rule: 'PathPrefix(`css`)', expectedError: true },
  { desc: 'invalid PathPrefix matcher (too many parameters)', rule: 'PathPrefix(`/css`, `/js`)', expectedError: true },
  {
    desc: 'valid PathPrefix matcher',
    rule: 'PathPrefix("/css")',
    expected: {
      'https://example.com': false,
      'https://example.com/html': false,
      'https://example.org/css': true,
      'https://example.com/css': true,
      'https://example.com/css/': true,
      'https://example.com/css/main.css': true,
    },
  },
]);

/** Go's `http.Header` entries of the tables, as the header lines a client sends. */
const lines = (h: Record<string, string[]>): HttpRequestView =>
  httpReq({ rawHeaders: Object.entries(h).flatMap(([k, vs]) => vs.flatMap((v) => [k, v])) });

run('TestHeaderMatcher', [
  { desc: 'invalid Header matcher (no parameter)', rule: 'Header()', expectedError: true },
  { desc: 'invalid Header matcher (missing value parameter)', rule: 'Header(`X-Forwarded-Host`)', expectedError: true },
  {
    desc: 'invalid Header matcher (empty value parameter)',
    rule: 'Header(`X-Forwarded-Host`, ``)',
    expectedError: true,
  },
  { desc: 'invalid Header matcher (missing key parameter)', rule: 'Header(``, `example.com`)', expectedError: true },
  {
    desc: 'invalid Header matcher (too many parameters)',
    rule: 'Header(`X-Forwarded-Host`, `example.com`, `example.org`)',
    expectedError: true,
  },
  ...['Header(`X-Forwarded-Proto`, `https`)', 'Header(`x-forwarded-proto`, `https`)'].map((rule, i) => ({
    desc: i === 0 ? 'valid Header matcher' : 'valid Header matcher (non-canonical form)',
    rule,
    expected: new Map([
      [lines({ 'X-Forwarded-Proto': ['https'] }), true],
      [lines({ 'X-Forwarded-Proto': ['http', 'https'] }), true],
      [lines({ 'X-Forwarded-Proto': ['https', 'http'] }), true],
      [lines({ 'X-Forwarded-Host': ['example.com'] }), false],
    ]),
  })),
]);

run('TestHeaderRegexpMatcher', [
  { desc: 'invalid HeaderRegexp matcher (no parameter)', rule: 'HeaderRegexp()', expectedError: true },
  {
    desc: 'invalid HeaderRegexp matcher (missing value parameter)',
    rule: 'HeaderRegexp(`X-Forwarded-Host`)',
    expectedError: true,
  },
  {
    desc: 'invalid HeaderRegexp matcher (empty value parameter)',
    rule: 'HeaderRegexp(`X-Forwarded-Host`, ``)',
    expectedError: true,
  },
  {
    desc: 'invalid HeaderRegexp matcher (missing key parameter)',
    rule: 'HeaderRegexp(``, `example.com`)',
    expectedError: true,
  },
  {
    desc: 'invalid HeaderRegexp matcher (invalid regexp)',
    rule: 'HeaderRegexp(`X-Forwarded-Host`,`(example.com`)',
    expectedError: true,
  },
  {
    desc: 'invalid HeaderRegexp matcher (too many parameters)',
    rule: 'HeaderRegexp(`X-Forwarded-Host`, `example.com`, `example.org`)',
    expectedError: true,
  },
  ...['HeaderRegexp(`X-Forwarded-Proto`, `^https?$`)', 'HeaderRegexp(`x-forwarded-proto`, `^https?$`)'].map(
    (rule, i) => ({
      desc: i === 0 ? 'valid HeaderRegexp matcher' : 'valid HeaderRegexp matcher (non-canonical form)',
      rule,
      expected: new Map([
        [lines({ 'X-Forwarded-Proto': ['http'] }), true],
        [lines({ 'X-Forwarded-Proto': ['https'] }), true],
        [lines({ 'X-Forwarded-Proto': ['HTTPS'] }), false],
        [lines({ 'X-Forwarded-Proto': ['ws', 'https'] }), true],
        [lines({ 'X-Forwarded-Host': ['example.com'] }), false],
      ]),
    }),
  ),
  {
    desc: 'valid HeaderRegexp matcher with Traefik v2 syntax',
    rule: 'HeaderRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)',
    expected: new Map([
      [lines({ 'X-Forwarded-Proto': ['http'] }), false],
      [lines({ 'X-Forwarded-Proto': ['https'] }), false],
      [lines({ 'X-Forwarded-Proto': ['http{secure:}'] }), true],
      [lines({ 'X-Forwarded-Proto': ['HTTP{secure:}'] }), false],
      [lines({ 'X-Forwarded-Proto': ['http{secure:s}'] }), true],
      [lines({ 'X-Forwarded-Proto': ['http{secure:S}'] }), false],
      [lines({ 'X-Forwarded-Proto': ['HTTPS'] }), false],
      [lines({ 'X-Forwarded-Proto': ['ws', 'http{secure:s}'] }), true],
      [lines({ 'X-Forwarded-Host': ['example.com'] }), false],
    ]),
  },
]);

const queryCases = {
  'https://example.com': false,
  'https://example.com?q=traefik': true,
  'https://example.com?rel=ddg&q=traefik': true,
  'https://example.com?q=traefik&q=proxy': true,
  'https://example.com?q=awesome&q=traefik': true,
  'https://example.com?q=nginx': false,
  'https://example.com?rel=ddg': false,
  'https://example.com?q=TRAEFIK': false,
  'https://example.com?Q=traefik': false,
  'https://example.com?rel=traefik': false,
};

run('TestQueryMatcher', [
  { desc: 'invalid Query matcher (no parameter)', rule: 'Query()', expectedError: true },
  { desc: 'invalid Query matcher (empty key, one parameter)', rule: 'Query(``)', expectedError: true },
  { desc: 'invalid Query matcher (empty key)', rule: 'Query(``, `traefik`)', expectedError: true },
  { desc: 'invalid Query matcher (empty value)', rule: 'Query(`q`, ``)', expectedError: true },
  { desc: 'invalid Query matcher (too many parameters)', rule: 'Query(`q`, `traefik`, `proxy`)', expectedError: true },
  { desc: 'valid Query matcher', rule: 'Query(`q`, `traefik`)', expected: queryCases },
  {
    desc: 'valid Query matcher with empty value',
    rule: 'Query(`mobile`)',
    expected: {
      'https://example.com': false,
      'https://example.com?mobile': true,
      'https://example.com?mobile=true': false,
    },
  },
  // Go's url.ParseQuery: `key=` is the empty value too, `+` is a space, a pair with `;` is dropped.
  {
    desc: 'Query(key) matches key= as well',
    rule: 'Query(`mobile`)',
    expected: { 'https://example.com?mobile=': true, 'https://example.com?mobile=&mobile=1': true },
  },
  {
    desc: 'Query decodes + and escapes',
    rule: 'Query(`q`, `a b`)',
    expected: {
      'https://example.com?q=a+b': true,
      'https://example.com?q=a%20b': true,
      'https://example.com?q=a%2Bb': false,
    },
  },
  {
    desc: 'Query drops a pair holding ;',
    rule: 'Query(`q`, `1`)',
    expected: { 'https://example.com?q=1;x=2': false, 'https://example.com?x=2;y&q=1': true },
  },
]);

run('TestQueryRegexpMatcher', [
  { desc: 'invalid QueryRegexp matcher (no parameter)', rule: 'QueryRegexp()', expectedError: true },
  { desc: 'invalid QueryRegexp matcher (empty parameter)', rule: 'QueryRegexp(``)', expectedError: true },
  { desc: 'invalid QueryRegexp matcher (invalid regexp)', rule: 'QueryRegexp(`q`, `(traefik`)', expectedError: true },
  {
    desc: 'invalid QueryRegexp matcher (too many parameters)',
    rule: 'QueryRegexp(`q`, `traefik`, `proxy`)',
    expectedError: true,
  },
  {
    desc: 'valid QueryRegexp matcher',
    rule: 'QueryRegexp(`q`, `^(traefik|nginx)$`)',
    expected: {
      ...queryCases,
      'https://example.com?q=nginx': true,
      'https://example.com?rel=ddg&q=nginx': true,
      'https://example.com?q=nginx&q=proxy': true,
      'https://example.com?q=awesome&q=nginx': true,
      'https://example.com?q=NGINX': false,
      'https://example.com?Q=nginx': false,
      'https://example.com?rel=nginx': false,
      'https://example.com?q=haproxy': false,
    },
  },
  {
    desc: 'valid QueryRegexp matcher (any value)',
    rule: 'QueryRegexp(`q`, `^.*$`)',
    expected: {
      ...queryCases,
      'https://example.com?q=nginx': true,
      'https://example.com?q=TRAEFIK': true,
      'https://example.com?q=NGINX': true,
      'https://example.com?q=haproxy': true,
      'https://example.com?Q=nginx': false,
      'https://example.com?rel=nginx': false,
    },
  },
  {
    desc: 'valid QueryRegexp matcher with Traefik v2 syntax',
    rule: 'QueryRegexp(`q`, `{value:(traefik|nginx)}`)',
    expected: { 'https://example.com?q=traefik': false, 'https://example.com?q={value:traefik}': true },
  },
]);

describe('ClientIP edge cases Go decides', () => {
  const cases = [
    { desc: 'an IPv6 zone in the rule is refused (net.ParseIP)', rule: 'ClientIP(`fe80::1%eth0`)', refused: true },
    { desc: 'spaces around the value are refused (net.ParseIP)', rule: 'ClientIP(` 10.0.0.1`)', refused: true },
    { desc: "the client's zone is ignored", rule: 'ClientIP(`fe80::1`)', ip: 'fe80::1%eth0', want: true },
    {
      desc: 'an IPv4-mapped client is its IPv4 address',
      rule: 'ClientIP(`10.0.0.0/8`)',
      ip: '::ffff:10.1.2.3',
      want: true,
    },
    { desc: 'an IPv4-mapped rule is an IPv4 address', rule: 'ClientIP(`::ffff:10.0.0.1`)', ip: '10.0.0.1', want: true },
    {
      desc: 'an IPv4-mapped range is an IPv4 range',
      rule: 'ClientIP(`::ffff:10.0.0.0/104`)',
      ip: '10.9.9.9',
      want: true,
    },
    { desc: 'an IPv4 client is not in ::/0', rule: 'ClientIP(`::/0`)', ip: '10.0.0.1', want: false },
    { desc: 'an IPv6 client is in ::/0', rule: 'ClientIP(`::/0`)', ip: '2001:db8::1', want: true },
    { desc: 'an IPv6 client is not in 0.0.0.0/0', rule: 'ClientIP(`0.0.0.0/0`)', ip: '::1', want: false },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseHttpRule(c.rule);
      if (c.refused) {
        assert.equal(r.ok, false);
        return;
      }
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.rule.match(httpReq({ clientIp: c.ip ?? '' })), c.want);
    });
  }
});
