/**
 * Traefik v3.7's TCP matcher tables (pkg/muxer/tcp/matcher_test.go), case by case. Connections carry
 * the SNI as berth's entrypoint gives it (lower case, no trailing dot, as Traefik's `NewConnData`
 * lower-cases it); entries that only exist because Go's test builds `ConnData` by hand with an
 * upper-case or dotted server name have no wire form and are left out.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeHost } from '../../src/rules/host.ts';
import { defaultTcpPriority, parseTcpRule } from '../../src/rules/tcp-rule.ts';
import type { TcpConnectionView } from '../../src/rules/types.ts';
import { tcpConn } from './helpers.ts';

interface Case {
  readonly desc: string;
  readonly rule: string;
  readonly buildErr?: true;
  readonly expected?: Readonly<Record<string, boolean>>;
}

function run(name: string, cases: readonly Case[], toConn: (key: string) => TcpConnectionView): void {
  describe(`Traefik ${name}`, () => {
    for (const c of cases) {
      test(c.desc, () => {
        const r = parseTcpRule(c.rule);
        if (c.buildErr) {
          assert.equal(r.ok, false, `${c.rule} should be refused`);
          return;
        }
        assert.ok(r.ok, r.ok ? '' : r.error);
        for (const [k, want] of Object.entries(c.expected ?? {})) assert.equal(r.rule.match(toConn(k)), want, k);
      });
    }
  });
}

const sni = (name: string): TcpConnectionView => tcpConn({ sni: normalizeHost(name), tls: name !== '' });

run(
  'Test_HostSNI',
  [
    { desc: 'Empty', rule: '', buildErr: true },
    { desc: 'Invalid HostSNI matcher (empty host)', rule: 'HostSNI(``)', buildErr: true },
    {
      desc: 'Invalid HostSNI matcher (too many parameters)',
      rule: 'HostSNI(`example.com`, `example.org`)',
      buildErr: true,
    },
    { desc: 'Invalid HostSNI matcher (non ASCII host)', rule: 'HostSNI(`🦭.com`)', buildErr: true },
    {
      desc: 'Valid HostSNI matcher - puny-coded emoji',
      rule: 'HostSNI(`xn--9t9h.com`)',
      expected: { 'xn--9t9h.com': true, '🦭.com': false },
    },
    { desc: 'Matching hosts', rule: 'HostSNI(`example.com`)', expected: { 'example.com': true, 'example.org': false } },
    { desc: 'Matching globing host `*`', rule: 'HostSNI(`*`)', expected: { 'example.com': true, '': true } },
    {
      desc: 'Matching host with trailing dot',
      rule: 'HostSNI(`example.com.`)',
      expected: { 'example.com.': true, 'example.com': true },
    },
    {
      desc: 'Matching hosts with subdomains',
      rule: 'HostSNI(`foo.example.com`)',
      expected: { 'foo.example.com': true },
    },
    // v3.7 wildcards (v3.0 refused `*.com` as "globing sub domain").
    {
      desc: 'Wildcard host matches one more label',
      rule: 'HostSNI(`*.example.com`)',
      expected: { 'foo.example.com': true, 'a.foo.example.com': false, 'example.com': false, '': false },
    },
    {
      desc: 'Wildcard over a top-level domain',
      rule: 'HostSNI(`*.com`)',
      expected: { 'example.com': true, 'a.example.com': false },
    },
    { desc: 'Matching upper-case rule', rule: 'HostSNI(`Example.COM`)', expected: { 'example.com': true } },
  ],
  sni,
);

run(
  'Test_HostSNIRegexp',
  [
    { desc: 'Empty', rule: '', buildErr: true },
    { desc: 'Invalid HostSNIRegexp matcher (empty host)', rule: 'HostSNIRegexp(``)', buildErr: true },
    { desc: 'Invalid HostSNIRegexp matcher (non ASCII host)', rule: 'HostSNIRegexp(`🦭.com`)', buildErr: true },
    { desc: 'Invalid HostSNIRegexp matcher (invalid regexp)', rule: 'HostSNIRegexp(`(example.com`)', buildErr: true },
    {
      desc: 'Invalid HostSNIRegexp matcher (too many parameters)',
      rule: 'HostSNIRegexp(`example.com`, `example.org`)',
      buildErr: true,
    },
    {
      desc: 'valid HostSNIRegexp matcher',
      rule: 'HostSNIRegexp(`^example\\.(com|org)$`)',
      expected: { 'example.com': true, 'example.org': true, exampleuorg: false, '': false },
    },
    {
      desc: 'valid HostSNIRegexp matcher with Traefik v2 syntax',
      rule: 'HostSNIRegexp(`example.{tld:(com|org)}`)',
      expected: { 'example.com': false, 'example.org': false, exampleuorg: false, '': false },
    },
  ],
  sni,
);

run(
  'Test_ClientIP',
  [
    { desc: 'Empty', rule: '', buildErr: true },
    { desc: 'Invalid ClientIP matcher (empty host)', rule: 'ClientIP(``)', buildErr: true },
    { desc: 'Invalid ClientIP matcher (non ASCII host)', rule: 'ClientIP(`🦭/32`)', buildErr: true },
    {
      desc: 'Invalid ClientIP matcher (too many parameters)',
      rule: 'ClientIP(`127.0.0.1`, `127.0.0.2`)',
      buildErr: true,
    },
    {
      desc: 'valid ClientIP matcher',
      rule: 'ClientIP(`20.20.20.20`)',
      expected: { '20.20.20.20': true, '10.10.10.10': false },
    },
    {
      desc: 'valid ClientIP matcher with CIDR',
      rule: 'ClientIP(`20.20.20.20/24`)',
      expected: { '20.20.20.20': true, '20.20.20.40': true, '10.10.10.10': false },
    },
  ],
  (ip) => tcpConn({ clientIp: ip }),
);

run(
  'Test_ALPN',
  [
    { desc: 'Empty', rule: '', buildErr: true },
    { desc: 'Invalid ALPN matcher (TLS proto)', rule: 'ALPN(`acme-tls/1`)', buildErr: true },
    { desc: 'Invalid ALPN matcher (empty parameters)', rule: 'ALPN(``)', buildErr: true },
    { desc: 'Invalid ALPN matcher (too many parameters)', rule: 'ALPN(`h2`, `mqtt`)', buildErr: true },
    { desc: 'Valid ALPN matcher', rule: 'ALPN(`h2`)', expected: { h2: true, mqtt: false, '': false } },
  ],
  (proto) => tcpConn({ alpn: [proto] }),
);

describe('Traefik Test_HostSNICatchAll', () => {
  const cases = [
    { desc: 'HostSNI(`example.com`) is not catchAll', rule: 'HostSNI(`example.com`)', isCatchAll: false },
    { desc: 'HostSNI(`*`) is catchAll', rule: 'HostSNI(`*`)', isCatchAll: true },
    { desc: 'HostSNIRegexp(`^.*$`) is not catchAll', rule: 'HostSNIRegexp(`.*`)', isCatchAll: false },
    {
      desc: 'HostSNI(`*`) && ClientIP is not catchAll (the rule is not exactly HostSNI(`*`))',
      rule: 'HostSNI(`*`) && ClientIP(`0.0.0.0/0`)',
      isCatchAll: false,
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseTcpRule(c.rule);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.rule.match(tcpConn({ sni: 'example.com' })), true);
      assert.equal(r.rule.catchAll, c.isCatchAll);
    });
  }
});

describe('Traefik TCP default priority (muxer AddRoute)', () => {
  const cases = [
    { desc: 'the catch-all fallback gets -1', rule: 'HostSNI(`*`)', want: -1 },
    { desc: 'any other rule its length in bytes', rule: 'HostSNI(`*`) && ClientIP(`10.0.0.0/8`)', want: 38 },
    { desc: 'a named host: its length', rule: 'HostSNI(`db.example.com`)', want: 25 },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(defaultTcpPriority(c.rule), c.want));
});
