/**
 * Traefik's own tables for the v2 rule language (pkg/muxer/http/matcher_v2_test.go), case by case,
 * run through `parseHttpRule(rule, 'v2')`: a rule, and for each request whether it is routed (200) or
 * not (404), or that the rule is refused. Entries that only exist in Go's test harness (a
 * non-canonical key put in the header map by hand) have no wire form and are left out.
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
  /** Request key → routed or not. */
  readonly expected?: Readonly<Record<string, boolean>>;
}

/** Header lines `Name: value | Name: value` → a request carrying them. */
function withHeaders(lines: string): HttpRequestView {
  const raw: string[] = [];
  const headers: Record<string, string> = {};
  for (const line of lines.split(' | ')) {
    const i = line.indexOf(': ');
    const name = line.slice(0, i);
    const value = line.slice(i + 2);
    raw.push(name, value);
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return httpReq({ headers, rawHeaders: raw });
}

function run(name: string, cases: readonly Case[], toReq: (key: string) => HttpRequestView = (k) => fromUrl(k)): void {
  describe(`Traefik ${name} (v2 syntax)`, () => {
    for (const c of cases) {
      test(c.desc, () => {
        const r = parseHttpRule(c.rule, 'v2');
        if (c.expectedError) {
          assert.equal(r.ok, false, `${c.rule} should be refused`);
          return;
        }
        assert.ok(r.ok, r.ok ? '' : r.error);
        for (const [k, want] of Object.entries(c.expected ?? {})) assert.equal(r.rule.match(toReq(k)), want, k);
      });
    }
  });
}

run(
  'TestClientIPV2Matcher',
  [
    { desc: 'invalid ClientIP matcher', rule: 'ClientIP(`1`)', expectedError: true },
    { desc: 'invalid ClientIP matcher (no parameter)', rule: 'ClientIP()', expectedError: true },
    { desc: 'invalid ClientIP matcher (empty parameter)', rule: 'ClientIP(``)', expectedError: true },
    {
      desc: 'valid ClientIP matcher (many parameters)',
      rule: 'ClientIP(`127.0.0.1`, `192.168.1.0/24`)',
      expected: { '127.0.0.1': true, '192.168.1.1': true },
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
  'TestMethodV2Matcher',
  [
    { desc: 'invalid Method matcher (no parameter)', rule: 'Method()', expectedError: true },
    { desc: 'invalid Method matcher (empty parameter)', rule: 'Method(``)', expectedError: true },
    {
      desc: 'valid Method matcher (many parameters)',
      rule: 'Method(`GET`, `POST`)',
      expected: { GET: true, POST: true },
    },
    { desc: 'valid Method matcher', rule: 'Method(`GET`)', expected: { GET: true, POST: false, get: false } },
    {
      desc: 'valid Method matcher (lower case)',
      rule: 'Method(`get`)',
      expected: { GET: true, POST: false, get: false },
    },
  ],
  (method) => httpReq({ method }),
);

run('TestHostV2Matcher', [
  { desc: 'invalid Host matcher (no parameter)', rule: 'Host()', expectedError: true },
  { desc: 'invalid Host matcher (empty parameter)', rule: 'Host(``)', expectedError: true },
  { desc: 'invalid Host matcher (non-ASCII)', rule: 'Host(`🦭.com`)', expectedError: true },
  {
    desc: 'valid Host matcher (many parameters)',
    rule: 'Host(`example.com`, `example.org`)',
    expected: {
      'https://example.com': true,
      'https://example.com:8080': true,
      'https://example.com/path': true,
      'https://EXAMPLE.COM/path': true,
      'https://example.org': true,
      'https://example.org/path': true,
    },
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
]);

run('TestHostRegexpV2Matcher', [
  { desc: 'invalid HostRegexp matcher (no parameter)', rule: 'HostRegexp()', expectedError: true },
  { desc: 'invalid HostRegexp matcher (empty parameter)', rule: 'HostRegexp(``)', expectedError: true },
  { desc: 'invalid HostRegexp matcher (non-ASCII)', rule: 'HostRegexp(`🦭.com`)', expectedError: true },
  {
    desc: 'valid HostRegexp matcher (invalid regexp): the text is literal, so it matches nothing',
    rule: 'HostRegexp(`(example.com`)',
    expected: {
      'https://example.com': false,
      'https://example.com:8080': false,
      'https://example.com/path': false,
      'https://example.org': false,
      'https://example.org/path': false,
    },
  },
  {
    desc: 'valid HostRegexp matcher (many parameters)',
    rule: 'HostRegexp(`example.com`, `example.org`)',
    expected: {
      'https://example.com': true,
      'https://example.com:8080': true,
      'https://example.com/path': true,
      'https://example.org': true,
      'https://example.org/path': true,
    },
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
      'https://example.com': true,
      'https://example.com/path': true,
      'https://example.org': false,
      'https://example.org/path': false,
    },
  },
]);

run('TestPathV2Matcher', [
  { desc: 'invalid Path matcher (no parameter)', rule: 'Path()', expectedError: true },
  { desc: 'invalid Path matcher (empty parameter)', rule: 'Path(``)', expectedError: true },
  { desc: 'invalid Path matcher (no leading /)', rule: 'Path(`css`)', expectedError: true },
  {
    desc: 'valid Path matcher (many parameters)',
    rule: 'Path(`/css`, `/js`)',
    expected: {
      'https://example.com': false,
      'https://example.com/html': false,
      'https://example.org/css': true,
      'https://example.com/css': true,
      'https://example.com/css/': false,
      'https://example.com/css/main.css': false,
      'https://example.com/js': true,
      'https://example.com/js/main.js': false,
    },
  },
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
  {
    desc: 'valid Path matcher with regexp',
    rule: 'Path(`/css{path:(/.*)?}`)',
    expected: {
      'https://example.com': false,
      'https://example.com/css/main.css': true,
      'https://example.org/css/main.css': true,
      'https://example.com/css/components/component.css': true,
      'https://example.com/css.css': false,
      'https://example.com/js/main.js': false,
    },
  },
]);

run('TestPathPrefixV2Matcher', [
  { desc: 'invalid PathPrefix matcher (no parameter)', rule: 'PathPrefix()', expectedError: true },
  { desc: 'invalid PathPrefix matcher (empty parameter)', rule: 'PathPrefix(``)', expectedError: true },
  { desc: 'invalid PathPrefix matcher (no leading /)', rule: 'PathPrefix(`css`)', expectedError: true },
  {
    desc: 'valid PathPrefix matcher (many parameters)',
    rule: 'PathPrefix(`/css`, `/js`)',
    expected: {
      'https://example.com': false,
      'https://example.com/html': false,
      'https://example.org/css': true,
      'https://example.com/css': true,
      'https://example.com/css/': true,
      'https://example.com/css/main.css': true,
      'https://example.com/js/': true,
      'https://example.com/js/main.js': true,
    },
  },
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
  {
    desc: 'valid PathPrefix matcher with regexp',
    rule: 'PathPrefix(`/css-{name:[0-9]?}`)',
    expected: {
      'https://example.com': false,
      'https://example.com/css-1/main.css': true,
      'https://example.org/css-222/main.css': true,
      'https://example.com/css-333333/components/component.css': true,
      'https://example.com/css.css': false,
      'https://example.com/js/main.js': false,
    },
  },
]);

run(
  'TestHeadersMatcher',
  [
    { desc: 'invalid Header matcher (no parameter)', rule: 'Headers()', expectedError: true },
    {
      desc: 'invalid Header matcher (missing value parameter)',
      rule: 'Headers(`X-Forwarded-Host`)',
      expectedError: true,
    },
    {
      desc: 'invalid Header matcher (empty value parameter)',
      rule: 'Headers(`X-Forwarded-Host`, ``)',
      expectedError: true,
    },
    { desc: 'invalid Header matcher (missing key parameter)', rule: 'Headers(``, `example.com`)', expectedError: true },
    {
      desc: 'invalid Header matcher (too many parameters)',
      rule: 'Headers(`X-Forwarded-Host`, `example.com`, `example.org`)',
      expectedError: true,
    },
    {
      desc: 'valid Header matcher',
      rule: 'Headers(`X-Forwarded-Proto`, `https`)',
      expected: {
        'X-Forwarded-Proto: https': true,
        'X-Forwarded-Proto: http | X-Forwarded-Proto: https': true,
        'X-Forwarded-Proto: https | X-Forwarded-Proto: http': true,
        'X-Forwarded-Host: example.com': false,
      },
    },
    {
      desc: 'valid Header matcher (non-canonical form)',
      rule: 'Headers(`x-forwarded-proto`, `https`)',
      expected: {
        'X-Forwarded-Proto: https': true,
        'x-forwarded-proto: https': true,
        'X-Forwarded-Proto: http | X-Forwarded-Proto: https': true,
        'X-Forwarded-Host: example.com': false,
      },
    },
  ],
  withHeaders,
);

run(
  'TestHeaderRegexpV2Matcher',
  [
    { desc: 'invalid HeaderRegexp matcher (no parameter)', rule: 'HeaderRegexp()', expectedError: true },
    {
      desc: 'invalid HeaderRegexp matcher (missing value parameter)',
      rule: 'HeadersRegexp(`X-Forwarded-Host`)',
      expectedError: true,
    },
    {
      desc: 'invalid HeaderRegexp matcher (empty value parameter)',
      rule: 'HeadersRegexp(`X-Forwarded-Host`, ``)',
      expectedError: true,
    },
    {
      desc: 'invalid HeaderRegexp matcher (missing key parameter)',
      rule: 'HeadersRegexp(``, `example.com`)',
      expectedError: true,
    },
    {
      desc: 'invalid HeaderRegexp matcher (invalid regexp)',
      rule: 'HeadersRegexp(`X-Forwarded-Host`,`(example.com`)',
      expectedError: true,
    },
    {
      desc: 'invalid HeaderRegexp matcher (too many parameters)',
      rule: 'HeadersRegexp(`X-Forwarded-Host`, `example.com`, `example.org`)',
      expectedError: true,
    },
    {
      desc: 'valid HeaderRegexp matcher',
      rule: 'HeadersRegexp(`X-Forwarded-Proto`, `^https?$`)',
      expected: {
        'X-Forwarded-Proto: http': true,
        'X-Forwarded-Proto: https': true,
        'X-Forwarded-Proto: HTTPS': false,
        'X-Forwarded-Proto: ws | X-Forwarded-Proto: https': true,
        'X-Forwarded-Host: example.com': false,
      },
    },
    {
      desc: 'valid HeaderRegexp matcher (non-canonical form)',
      rule: 'HeadersRegexp(`x-forwarded-proto`, `^https?$`)',
      expected: {
        'X-Forwarded-Proto: http': true,
        'X-Forwarded-Proto: https': true,
        'X-Forwarded-Proto: HTTPS': false,
        'X-Forwarded-Proto: ws | X-Forwarded-Proto: https': true,
        'X-Forwarded-Host: example.com': false,
      },
    },
    {
      desc: 'valid HeaderRegexp matcher with Traefik v2 syntax: a plain regexp, braces are literal',
      rule: 'HeadersRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)',
      expected: {
        'X-Forwarded-Proto: http': false,
        'X-Forwarded-Proto: https': false,
        'X-Forwarded-Proto: http{secure:}': true,
        'X-Forwarded-Proto: HTTP{secure:}': false,
        'X-Forwarded-Proto: http{secure:s}': true,
        'X-Forwarded-Proto: http{secure:S}': false,
        'X-Forwarded-Proto: HTTPS': false,
        'X-Forwarded-Proto: ws | X-Forwarded-Proto: http{secure:s}': true,
        'X-Forwarded-Host: example.com': false,
      },
    },
  ],
  withHeaders,
);

const hostCases = {
  'http://foo.bar.com': true,
  'http://bar.com': true,
  'http://fooubar.com': false,
  'http://barucom': false,
  'http://barcom': false,
};

run('TestHostRegexp', [
  { desc: 'capturing group', rule: 'HostRegexp(`{subdomain:(foo\\.)?bar\\.com}`)', expected: hostCases },
  { desc: 'non capturing group', rule: 'HostRegexp(`{subdomain:(?:foo\\.)?bar\\.com}`)', expected: hostCases },
  {
    desc: 'regex insensitive',
    rule: 'HostRegexp(`{dummy:[A-Za-z-]+\\.bar\\.com}`)',
    expected: {
      'http://FOO.bar.com': true,
      'http://foo.bar.com': true,
      'http://fooubar.com': false,
      'http://barucom': false,
      'http://barcom': false,
    },
  },
  {
    desc: 'insensitive host',
    rule: 'HostRegexp(`{dummy:[a-z-]+\\.bar\\.com}`)',
    expected: {
      'http://FOO.bar.com': true,
      'http://foo.bar.com': true,
      'http://fooubar.com': false,
      'http://barucom': false,
      'http://barcom': false,
    },
  },
  {
    desc: 'insensitive host simple',
    rule: 'HostRegexp(`foo.bar.com`)',
    expected: {
      'http://FOO.bar.com': true,
      'http://foo.bar.com': true,
      'http://fooubar.com': false,
      'http://barucom': false,
      'http://barcom': false,
    },
  },
]);
