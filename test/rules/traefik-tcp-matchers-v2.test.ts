/**
 * Traefik's Test_addTCPRouteV2 (pkg/muxer/tcp/matcher_v2_test.go, a copy of Traefik v2's TCP muxer
 * tests) run through `parseTcpRule(rule, 'v2')`, plus the v2 list forms (HostSNI with several names,
 * `*` among them, ALPN with several protocols) and the literal SNI names the index files a router under.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTcpRule } from '../../src/rules/tcp-rule.ts';
import { tcpConn } from './helpers.ts';

/** [description, rule, SNI, client IP, ALPN protocols, outcome]. */
type Row = [string, string, string, string, string[], 'routeErr' | 'match' | 'noMatch'];

const rows: Row[] = [
  ['Rule with no matcher', 'rulewithnotmatcher', '', '', [], 'routeErr'],
  ['Empty HostSNI rule', 'HostSNI()', 'foobar', '', [], 'routeErr'],
  ['Empty HostSNI value', 'HostSNI(``)', 'foobar', '', [], 'routeErr'],
  ['Valid HostSNI rule matching', 'HostSNI(`foobar`)', 'foobar', '', [], 'match'],
  ['Valid negative HostSNI rule matching', '!HostSNI(`bar`)', 'foobar', '', [], 'match'],
  ['Valid HostSNI rule matching with alternative case', 'hostsni(`foobar`)', 'foobar', '', [], 'match'],
  ['Valid HostSNI rule matching with upper case', 'HOSTSNI(`foobar`)', 'foobar', '', [], 'match'],
  ['Valid HostSNI rule not matching', 'HostSNI(`foobar`)', 'bar', '', [], 'noMatch'],
  ['Empty HostSNIRegexp rule', 'HostSNIRegexp()', 'foobar', '', [], 'routeErr'],
  ['Empty HostSNIRegexp value', 'HostSNIRegexp(``)', 'foobar', '', [], 'routeErr'],
  ['Valid HostSNIRegexp rule matching', 'HostSNIRegexp(`{subdomain:[a-z]+}.foobar`)', 'sub.foobar', '', [], 'match'],
  ['Valid negative HostSNIRegexp rule matching', '!HostSNIRegexp(`bar`)', 'foobar', '', [], 'match'],
  ['Valid HostSNIRegexp rule matching with alternative case', 'hostsniregexp(`foobar`)', 'foobar', '', [], 'match'],
  ['Valid HostSNIRegexp rule matching with upper case', 'HOSTSNIREGEXP(`foobar`)', 'foobar', '', [], 'match'],
  ['Valid HostSNIRegexp rule not matching', 'HostSNIRegexp(`foobar`)', 'bar', '', [], 'noMatch'],
  ['Valid negative HostSNI rule not matching', '!HostSNI(`bar`)', 'bar', '', [], 'noMatch'],
  ['Valid HostSNIRegexp rule matching empty servername', 'HostSNIRegexp(`{subdomain:[a-z]*}`)', '', '', [], 'match'],
  ['Valid HostSNIRegexp rule with one name', 'HostSNIRegexp(`{dummy}`)', 'toto', '', [], 'match'],
  ['Valid HostSNIRegexp rule with one name 2', 'HostSNIRegexp(`{dummy}`)', 'toto.com', '', [], 'noMatch'],
  ['Empty ClientIP rule', 'ClientIP()', '', '', [], 'routeErr'],
  ['Empty ClientIP value', 'ClientIP(``)', '', '', [], 'routeErr'],
  ['Invalid ClientIP', 'ClientIP(`invalid`)', '', '', [], 'routeErr'],
  ['Invalid remoteAddr', 'ClientIP(`10.0.0.1`)', '', 'not.an.IP', [], 'noMatch'],
  ['Valid ClientIP rule matching', 'ClientIP(`10.0.0.1`)', '', '10.0.0.1', [], 'match'],
  ['Valid negative ClientIP rule matching', '!ClientIP(`20.0.0.1`)', '', '10.0.0.1', [], 'match'],
  ['Valid ClientIP rule matching with alternative case', 'clientip(`10.0.0.1`)', '', '10.0.0.1', [], 'match'],
  ['Valid ClientIP rule not matching', 'ClientIP(`10.0.0.1`)', '', '10.0.0.2', [], 'noMatch'],
  ['Valid negative ClientIP rule not matching', '!ClientIP(`10.0.0.2`)', '', '10.0.0.2', [], 'noMatch'],
  ['Valid ClientIP rule matching IPv6', 'ClientIP(`10::10`)', '', '10::10', [], 'match'],
  ['Valid negative ClientIP rule matching IPv6', '!ClientIP(`10::10`)', '', '::1', [], 'match'],
  ['Valid ClientIP rule not matching IPv6', 'ClientIP(`10::10`)', '', '::1', [], 'noMatch'],
  ['Valid ClientIP rule matching multiple IPs', 'ClientIP(`10.0.0.1`, `10.0.0.0`)', '', '10.0.0.0', [], 'match'],
  ['Valid ClientIP rule matching CIDR', 'ClientIP(`11.0.0.0/24`)', '', '11.0.0.0', [], 'match'],
  ['Valid ClientIP rule not matching CIDR', 'ClientIP(`11.0.0.0/24`)', '', '10.0.0.0', [], 'noMatch'],
  ['Valid ClientIP rule matching CIDR IPv6', 'ClientIP(`11::/16`)', '', '11::', [], 'match'],
  ['Valid ClientIP rule not matching CIDR IPv6', 'ClientIP(`11::/16`)', '', '10::', [], 'noMatch'],
  ['Valid ClientIP rule matching multiple CIDR', 'ClientIP(`11.0.0.0/16`, `10.0.0.0/16`)', '', '10.0.0.0', [], 'match'],
  [
    'Valid ClientIP rule not matching CIDR and matching IP',
    'ClientIP(`11.0.0.0/16`, `10.0.0.0`)',
    '',
    '10.0.0.0',
    [],
    'match',
  ],
  [
    'Valid ClientIP rule matching CIDR and not matching IP',
    'ClientIP(`11.0.0.0`, `10.0.0.0/16`)',
    '',
    '10.0.0.0',
    [],
    'match',
  ],
  [
    'Valid HostSNI and ClientIP rule matching',
    'HostSNI(`foobar`) && ClientIP(`10.0.0.1`)',
    'foobar',
    '10.0.0.1',
    [],
    'match',
  ],
  [
    'Valid negative HostSNI or negative ClientIP',
    '!(HostSNI(`bar`) || ClientIP(`10.0.0.2`))',
    'foobar',
    '10.0.0.1',
    [],
    'match',
  ],
  ['Negated and, both sides true', '!(HostSNI(`bar`) && ClientIP(`10.0.0.2`))', 'bar', '10.0.0.2', [], 'noMatch'],
  ['Negated and, one side false', '!(HostSNI(`bar`) && ClientIP(`10.0.0.2`))', 'bar', '10.0.0.1', [], 'match'],
  [
    'Valid HostSNI or ClientIP rule not matching',
    'HostSNI(`foobar`) || ClientIP(`10.0.0.1`)',
    'bar',
    '10.0.0.2',
    [],
    'noMatch',
  ],
  [
    'Valid HostSNI and ClientIP Combined rule matching',
    'HostSNI(`foobar`) || HostSNI(`bar`) && ClientIP(`10.0.0.1`)',
    'foobar',
    '10.0.0.2',
    [],
    'match',
  ],
  [
    'Valid HostSNI and ClientIP Combined rule not matching',
    'HostSNI(`foobar`) || HostSNI(`bar`) && ClientIP(`10.0.0.1`)',
    'bar',
    '10.0.0.2',
    [],
    'noMatch',
  ],
  [
    'more complex (but absurd) combined rule matching',
    '(HostSNI(`foobar`) || (HostSNI(`bar`) && !HostSNI(`foobar`))) && ((ClientIP(`10.0.0.1`) && !ClientIP(`10.0.0.2`)) || ClientIP(`10.0.0.2`)) ',
    'bar',
    '10.0.0.1',
    [],
    'match',
  ],
  ['Invalid ALPN rule matching ACME-TLS/1', 'ALPN(`acme-tls/1`)', '', '', ['foo'], 'routeErr'],
  ['Valid ALPN rule matching single protocol', 'ALPN(`foo`)', '', '', ['foo'], 'match'],
  ['Valid ALPN rule not matching the ACME-TLS/1 protocol', 'ALPN(`foo`)', '', '', ['acme-tls/1'], 'noMatch'],
  ['Valid ALPN rule not matching single protocol', 'ALPN(`foo`)', '', '', ['bar'], 'noMatch'],
  ['ALPN without another protocol', 'ALPN(`foo`) && !alpn(`h2`)', '', '', ['foo', 'bar'], 'match'],
  ['ALPN with another protocol', 'ALPN(`foo`) && !alpn(`h2`)', '', '', ['foo', 'h2', 'bar'], 'noMatch'],
  [
    'ALPN and HostSNI matching by SNI',
    'ALPN(`foo`) && (!alpn(`h2`) || hostsni(`foo`))',
    'foo',
    '',
    ['foo', 'bar'],
    'match',
  ],
  [
    'ALPN and HostSNI not matching by SNI',
    'ALPN(`foo`) && (!alpn(`h2`) || hostsni(`foo`))',
    'bar',
    '',
    ['foo', 'bar', 'h2'],
    'noMatch',
  ],
  [
    'ALPN and HostSNI not matching by protos',
    'ALPN(`foo`) && (!alpn(`h2`) || hostsni(`foo`))',
    'bar',
    '',
    ['h2', 'bar'],
    'noMatch',
  ],
  // The v2 list forms.
  ['HostSNI with several names, second', 'HostSNI(`foo.bar`, `test.bar`)', 'test.bar', '', [], 'match'],
  ['HostSNI with several names, none', 'HostSNI(`foo.bar`, `test.bar`)', 'other.bar', '', [], 'noMatch'],
  ['HostSNI compares case-insensitively, trailing dot ignored', 'HostSNI(`Foo.Bar.`)', 'foo.bar', '', [], 'match'],
  ['HostSNI(`*`) matches a connection without SNI', 'HostSNI(`*`)', '', '', [], 'match'],
  ['`*` after a name matches any SNI', 'HostSNI(`foo.bar`, `*`)', 'other.bar', '', [], 'match'],
  ['`*` after a name needs an SNI', 'HostSNI(`foo.bar`, `*`)', '', '', [], 'noMatch'],
  ['v2 HostSNI has no wildcard names', 'HostSNI(`*.foo.bar`)', 'a.foo.bar', '', [], 'routeErr'],
  ['an IDN is taken as its punycode', 'HostSNI(`🦭.com`)', 'xn--9t9h.com', '', [], 'match'],
  ['ALPN with several protocols', 'ALPN(`h2`, `foo`)', '', '', ['foo'], 'match'],
  ['ALPN list refuses acme-tls/1 anywhere', 'ALPN(`h2`, `acme-tls/1`)', '', '', ['h2'], 'routeErr'],
  ['HostSNIRegexp unbalanced braces', 'HostSNIRegexp(`{sub.foo`)', 'a.foo', '', [], 'routeErr'],
  ['HostSNIRegexp is case-insensitive', 'HostSNIRegexp(`{sub:[A-Z]+}.foo`)', 'abc.foo', '', [], 'match'],
  ['v3-only matcher names are unknown in v2', 'HostSNI(`a`) && Foobar(`x`)', 'a', '', [], 'routeErr'],
];

describe('Traefik Test_addTCPRouteV2 (v2 syntax)', () => {
  for (const [desc, rule, sni, ip, alpn, outcome] of rows) {
    test(desc, () => {
      const r = parseTcpRule(rule, 'v2');
      if (outcome === 'routeErr') {
        assert.equal(r.ok, false, `${rule} should be refused`);
        return;
      }
      assert.ok(r.ok, r.ok ? '' : r.error);
      const conn = tcpConn({ sni, clientIp: ip === '' ? '0.0.0.0' : ip, alpn, tls: sni !== '' || alpn.length > 0 });
      assert.equal(r.rule.match(conn), outcome === 'match');
    });
  }
});

describe('v2 TCP rules: literal names and the catch-all', () => {
  const cases: [string, readonly string[] | null, boolean][] = [
    ['HostSNI(`foo.bar`,`test.bar`)', ['foo.bar', 'test.bar'], false],
    ['HOSTSNI(`Foo.Bar`) && ClientIP(`10.0.0.1`)', ['foo.bar'], false],
    ['HostSNI(`foo.bar`, `*`)', null, false],
    ['HostSNI(`*`)', null, true],
    ['ClientIP(`10.0.0.1`)', null, false],
  ];
  for (const [rule, hosts, catchAll] of cases) {
    test(rule, () => {
      const r = parseTcpRule(rule, 'v2');
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.deepEqual(r.rule.hosts, hosts);
      assert.equal(r.rule.catchAll, catchAll);
    });
  }
});
