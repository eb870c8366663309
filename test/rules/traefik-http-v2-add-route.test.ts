/**
 * Traefik's Test_addRoute for the v2 rule language (pkg/muxer/http/matcher_v2_test.go, itself copied
 * from Traefik v2's mux tests): whole rules, with `&&`, `||`, `!`, lists and case variants of the
 * matcher names, run through `parseHttpRule(rule, 'v2')`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHttpRule } from '../../src/rules/http-rule.ts';
import type { HttpRequestView } from '../../src/rules/types.ts';
import { requestFromUrl } from './helpers.ts';

interface Case {
  readonly desc: string;
  readonly rule: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly remoteAddr?: string;
  readonly expectedError?: true;
  readonly expected?: Readonly<Record<string, boolean>>;
}

function fromUrl(url: string, c: Case): HttpRequestView {
  return requestFromUrl(url, {
    headers: Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    rawHeaders: Object.entries(c.headers ?? {}).flat(),
    ...(c.remoteAddr !== undefined ? { clientIp: c.remoteAddr.replace(/^([\d.]+):\d+$/, '$1') } : {}),
  });
}

const cases: Case[] = [
  { desc: 'Rule with no matcher', rule: 'rulewithnotmatcher', expectedError: true },
  { desc: 'Host empty', rule: 'Host(``)', expectedError: true },
  { desc: 'PathPrefix empty', rule: 'PathPrefix(``)', expectedError: true },
  { desc: 'PathPrefix', rule: 'PathPrefix(`/foo`)', expected: { 'http://localhost/foo': true } },
  { desc: 'wrong PathPrefix', rule: 'PathPrefix(`/bar`)', expected: { 'http://localhost/foo': false } },
  { desc: 'Host', rule: 'Host(`localhost`)', expected: { 'http://localhost/foo': true } },
  { desc: 'Host IPv4', rule: 'Host(`127.0.0.1`)', expected: { 'http://127.0.0.1/foo': true } },
  { desc: 'Host IPv6', rule: 'Host(`10::10`)', expected: { 'http://[10::10]/foo': true } },
  { desc: 'Non-ASCII Host', rule: 'Host(`locàlhost`)', expectedError: true },
  { desc: 'Non-ASCII HostRegexp', rule: 'HostRegexp(`locàlhost`)', expectedError: true },
  {
    desc: 'HostHeader equivalent to Host',
    rule: 'HostHeader(`localhost`)',
    expected: { 'http://localhost/foo': true, 'http://bar/foo': false },
  },
  { desc: 'Host with trailing period in rule', rule: 'Host(`localhost.`)', expected: { 'http://localhost/foo': true } },
  {
    desc: 'Host with trailing period in domain',
    rule: 'Host(`localhost`)',
    expected: { 'http://localhost./foo': true },
  },
  {
    desc: 'Host with trailing period in domain and rule',
    rule: 'Host(`localhost.`)',
    expected: { 'http://localhost./foo': true },
  },
  { desc: 'wrong Host', rule: 'Host(`nope`)', expected: { 'http://localhost/foo': false } },
  {
    desc: 'Host and PathPrefix',
    rule: 'Host(`localhost`) && PathPrefix(`/foo`)',
    expected: { 'http://localhost/foo': true },
  },
  {
    desc: 'Host and PathPrefix wrong PathPrefix',
    rule: 'Host(`localhost`) && PathPrefix(`/bar`)',
    expected: { 'http://localhost/foo': false },
  },
  {
    desc: 'Host and PathPrefix wrong Host',
    rule: 'Host(`nope`) && PathPrefix(`/foo`)',
    expected: { 'http://localhost/foo': false },
  },
  {
    desc: 'Host and PathPrefix Host OR, first and second host',
    rule: 'Host(`nope`,`localhost`) && PathPrefix(`/foo`)',
    expected: { 'http://localhost/foo': true, 'http://nope/foo': true },
  },
  {
    desc: 'Host and PathPrefix Host OR, first host and wrong PathPrefix',
    rule: 'Host(`nope,localhost`) && PathPrefix(`/bar`)',
    expected: { 'http://localhost/foo': false },
  },
  {
    desc: 'HostRegexp with capturing group',
    rule: 'HostRegexp(`{subdomain:(foo\\.)?bar\\.com}`)',
    expected: {
      'http://foo.bar.com': true,
      'http://bar.com': true,
      'http://fooubar.com': false,
      'http://barucom': false,
      'http://barcom': false,
    },
  },
  { desc: 'Methods with GET', rule: 'Method(`GET`)', expected: { 'http://localhost/foo': true } },
  { desc: 'Methods with GET and POST', rule: 'Method(`GET`,`POST`)', expected: { 'http://localhost/foo': true } },
  { desc: 'Methods with POST', rule: 'Method(`POST`)', expected: { 'http://localhost/foo': false } },
  {
    desc: 'Header with matching header',
    rule: 'Headers(`Content-Type`,`application/json`)',
    headers: { 'Content-Type': 'application/json' },
    expected: { 'http://localhost/foo': true },
  },
  {
    desc: 'Header without matching header',
    rule: 'Headers(`Content-Type`,`application/foo`)',
    headers: { 'Content-Type': 'application/json' },
    expected: { 'http://localhost/foo': false },
  },
  {
    desc: 'HeaderRegExp with matching header',
    rule: 'HeadersRegexp(`Content-Type`, `application/(text|json)`)',
    headers: { 'Content-Type': 'application/json' },
    expected: { 'http://localhost/foo': true },
  },
  {
    desc: 'HeaderRegExp without matching header',
    rule: 'HeadersRegexp(`Content-Type`, `application/(text|json)`)',
    headers: { 'Content-Type': 'application/foo' },
    expected: { 'http://localhost/foo': false },
  },
  {
    desc: 'HeaderRegExp with matching second header',
    rule: 'HeadersRegexp(`Content-Type`, `application/(text|json)`)',
    headers: { 'Content-Type': 'application/text' },
    expected: { 'http://localhost/foo': true },
  },
  {
    desc: 'Query with multiple params',
    rule: 'Query(`foo=bar`, `bar=baz`)',
    expected: { 'http://localhost/foo?foo=bar&bar=baz': true, 'http://localhost/foo?bar=baz': false },
  },
  {
    desc: 'Query with multiple equals',
    rule: 'Query(`foo=b=ar`)',
    expected: { 'http://localhost/foo?foo=b=ar': true, 'http://localhost/foo?foo=bar': false },
  },
  { desc: 'Rule with simple path', rule: 'Path("/a")', expected: { 'http://plop/a': true } },
  { desc: 'Rule with a simple host', rule: 'Host("plop")', expected: { 'http://plop': true } },
  {
    desc: 'Rule with Path AND Host',
    rule: 'Path("/a") && Host("plop")',
    expected: { 'http://plop/a': true, 'http://plopi/a': false },
  },
  {
    desc: 'Rule with Host OR Host',
    rule: 'Host("tchouk") || Host("pouet")',
    expected: { 'http://tchouk/toto': true, 'http://pouet/a': true, 'http://plopi/a': false },
  },
  {
    desc: 'Rule with host OR (host AND path)',
    rule: 'Host("tchouk") || (Host("pouet") && Path("/powpow"))',
    expected: {
      'http://tchouk/toto': true,
      'http://tchouk/powpow': true,
      'http://pouet/powpow': true,
      'http://pouet/toto': false,
      'http://plopi/a': false,
    },
  },
  {
    desc: 'Rule with (host OR host) AND path',
    rule: '(Host("tchouk") || Host("pouet")) && Path("/powpow")',
    expected: {
      'http://tchouk/toto': false,
      'http://tchouk/powpow': true,
      'http://pouet/powpow': true,
      'http://pouet/toto': false,
      'http://plopi/a': false,
    },
  },
  {
    desc: 'Rule with multiple host AND multiple path',
    rule: 'Host("tchouk","pouet") && Path("/powpow", "/titi")',
    expected: {
      'http://tchouk/toto': false,
      'http://tchouk/powpow': true,
      'http://pouet/powpow': true,
      'http://tchouk/titi': true,
      'http://pouet/titi': true,
      'http://pouet/toto': false,
      'http://plopi/a': false,
    },
  },
  { desc: 'Rule without quote', rule: 'Host(tchouk)', expectedError: true },
  {
    desc: 'Rule case UPPER',
    rule: '(HOST("tchouk") && PATHPREFIX("/titi"))',
    expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false },
  },
  {
    desc: 'Rule case lower',
    rule: '(host("tchouk") && pathprefix("/titi"))',
    expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false },
  },
  {
    desc: 'Rule case Title',
    rule: '(Host("tchouk") && Pathprefix("/titi"))',
    expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false },
  },
  { desc: 'Rule Path with error', rule: 'Path("titi")', expectedError: true },
  { desc: 'Rule PathPrefix with error', rule: 'PathPrefix("titi")', expectedError: true },
  { desc: 'Rule HostRegexp with error', rule: 'HostRegexp("{test")', expectedError: true },
  { desc: 'Rule Headers with error', rule: 'Headers("titi")', expectedError: true },
  { desc: 'Rule HeadersRegexp with error', rule: 'HeadersRegexp("titi")', expectedError: true },
  { desc: 'Rule Query', rule: 'Query("titi")', expectedError: true },
  { desc: 'Rule Query with bad syntax', rule: 'Query("titi={test")', expectedError: true },
  { desc: 'Rule with Path without args', rule: 'Host("tchouk") && Path()', expectedError: true },
  { desc: 'Rule with an empty path', rule: 'Host("tchouk") && Path("")', expectedError: true },
  { desc: 'Rule with an empty path among others', rule: 'Host("tchouk") && Path("", "/titi")', expectedError: true },
  {
    desc: 'Rule with not',
    rule: '!Host("tchouk")',
    expected: { 'http://tchouk/titi': false, 'http://test/powpow': true },
  },
  {
    desc: 'Rule with not on Path',
    rule: '!Path("/titi")',
    expected: { 'http://tchouk/titi': false, 'http://tchouk/powpow': true },
  },
  {
    desc: 'Rule with not on multiple route with or',
    rule: '!(Host("tchouk") || Host("toto"))',
    expected: { 'http://tchouk/titi': false, 'http://toto/powpow': false, 'http://test/powpow': true },
  },
  {
    desc: 'Rule with not on multiple route with and another not',
    rule: '!(Host("tchouk") && !Path("/titi"))',
    expected: { 'http://tchouk/titi': true, 'http://toto/titi': true, 'http://tchouk/toto': false },
  },
  {
    desc: 'Rule case with double not',
    rule: '!(!(Host("tchouk") && Pathprefix("/titi")))',
    expected: { 'http://tchouk/titi': true, 'http://tchouk/powpow': false, 'http://test/titi': false },
  },
  {
    desc: 'Rule with multiple host AND multiple path AND not',
    rule: '!(Host("tchouk","pouet") && Path("/powpow", "/titi"))',
    expected: {
      'http://tchouk/toto': true,
      'http://tchouk/powpow': false,
      'http://pouet/powpow': false,
      'http://tchouk/titi': false,
      'http://pouet/titi': false,
      'http://pouet/toto': true,
      'http://plopi/a': true,
    },
  },
  { desc: 'ClientIP empty', rule: 'ClientIP(``)', expectedError: true },
  { desc: 'Invalid ClientIP', rule: 'ClientIP(`invalid`)', expectedError: true },
  {
    desc: 'Non matching ClientIP',
    rule: 'ClientIP(`10.10.1.1`)',
    remoteAddr: '10.0.0.0',
    expected: { 'http://tchouk/toto': false },
  },
  {
    desc: 'Non matching IPv6',
    rule: 'ClientIP(`10::10`)',
    remoteAddr: '::1',
    expected: { 'http://tchouk/toto': false },
  },
  {
    desc: 'Matching IP',
    rule: 'ClientIP(`10.0.0.0`)',
    remoteAddr: '10.0.0.0:8456',
    expected: { 'http://tchouk/toto': true },
  },
  { desc: 'Matching IPv6', rule: 'ClientIP(`10::10`)', remoteAddr: '10::10', expected: { 'http://tchouk/toto': true } },
  {
    desc: 'Matching IP among several IP',
    rule: 'ClientIP(`10.0.0.1`, `10.0.0.0`)',
    remoteAddr: '10.0.0.0',
    expected: { 'http://tchouk/toto': true },
  },
  {
    desc: 'Non Matching IPv6 with CIDR',
    rule: 'ClientIP(`11::/16`)',
    remoteAddr: '10::',
    expected: { 'http://tchouk/toto': false },
  },
  {
    desc: 'Matching IPv6 with CIDR',
    rule: 'ClientIP(`10::/16`)',
    remoteAddr: '10::10',
    expected: { 'http://tchouk/toto': true },
  },
  {
    desc: 'Matching IP among non matching CIDR and matching IP',
    rule: 'ClientIP(`11.0.0.0/16`, `10.0.0.0`)',
    remoteAddr: '10.0.0.0',
    expected: { 'http://tchouk/toto': true },
  },
];

describe('Traefik Test_addRoute (v2 syntax)', () => {
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseHttpRule(c.rule, 'v2');
      if (c.expectedError) {
        assert.equal(r.ok, false, `${c.rule} should be refused`);
        return;
      }
      assert.ok(r.ok, r.ok ? '' : r.error);
      for (const [url, want] of Object.entries(c.expected ?? {}))
        assert.equal(r.rule.match(fromUrl(url, c)), want, url);
    });
  }
});
