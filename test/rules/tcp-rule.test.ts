import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTcpPriority, parseTcpRule } from '../../src/rules/tcp-rule.ts';
import type { TcpConnectionView } from '../../src/rules/types.ts';
import { tcpConn } from './helpers.ts';

const plain = (over: Partial<TcpConnectionView> = {}) => tcpConn({ sni: '', tls: false, alpn: [], ...over });

describe('TCP matchers', () => {
  const cases: { desc: string; rule: string; conn: TcpConnectionView; want: boolean }[] = [
    { desc: 'HostSNI equal', rule: 'HostSNI(`example.com`)', conn: tcpConn(), want: true },
    { desc: 'HostSNI case-insensitive', rule: 'HostSNI(`Example.COM`)', conn: tcpConn(), want: true },
    { desc: 'HostSNI trailing dot', rule: 'HostSNI(`example.com.`)', conn: tcpConn(), want: true },
    { desc: 'HostSNI other', rule: 'HostSNI(`example.org`)', conn: tcpConn(), want: false },
    {
      desc: 'HostSNI never matches without SNI',
      rule: 'HostSNI(`example.com`)',
      conn: tcpConn({ sni: '' }),
      want: false,
    },
    { desc: 'HostSNI(*) matches TLS', rule: 'HostSNI(`*`)', conn: tcpConn(), want: true },
    { desc: 'HostSNI(*) matches non-TLS', rule: 'HostSNI(`*`)', conn: plain(), want: true },
    {
      desc: 'HostSNI *. one label',
      rule: 'HostSNI(`*.example.com`)',
      conn: tcpConn({ sni: 'db.example.com' }),
      want: true,
    },
    {
      desc: 'HostSNI *. not two labels',
      rule: 'HostSNI(`*.example.com`)',
      conn: tcpConn({ sni: 'a.db.example.com' }),
      want: false,
    },
    {
      desc: 'HostSNI punycode',
      rule: 'HostSNI(`xn--bcher-kva.de`)',
      conn: tcpConn({ sni: 'xn--bcher-kva.de' }),
      want: true,
    },
    { desc: 'HostSNI IP', rule: 'HostSNI(`127.0.0.1`)', conn: tcpConn({ sni: '127.0.0.1' }), want: true },
    {
      desc: 'HostSNIRegexp',
      rule: 'HostSNIRegexp(`^.+\\.example\\.com$`)',
      conn: tcpConn({ sni: 'db.example.com' }),
      want: true,
    },
    { desc: 'HostSNIRegexp miss', rule: 'HostSNIRegexp(`^.+\\.example\\.com$`)', conn: tcpConn(), want: false },
    { desc: 'ALPN offered', rule: 'ALPN(`h2`)', conn: tcpConn({ alpn: ['h2', 'http/1.1'] }), want: true },
    { desc: 'ALPN not offered', rule: 'ALPN(`h2`)', conn: tcpConn({ alpn: ['http/1.1'] }), want: false },
    { desc: 'ClientIP', rule: 'ClientIP(`127.0.0.0/8`)', conn: tcpConn(), want: true },
    { desc: 'ClientIP miss', rule: 'ClientIP(`10.0.0.0/8`)', conn: tcpConn(), want: false },
    {
      desc: 'non-TLS with HostSNI(*) && ClientIP',
      rule: 'HostSNI(`*`) && ClientIP(`127.0.0.1`)',
      conn: plain(),
      want: true,
    },
    {
      desc: 'non-TLS never matches a named HostSNI',
      rule: 'HostSNI(`example.com`) || HostSNI(`x.org`)',
      conn: plain(),
      want: false,
    },
    {
      desc: 'operators',
      rule: '(HostSNI(`a.com`) || HostSNI(`example.com`)) && !ALPN(`h2`)',
      conn: tcpConn(),
      want: true,
    },
    { desc: 'lower-case name', rule: 'hostsni(`example.com`)', conn: tcpConn(), want: true },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseTcpRule(c.rule);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.rule.match(c.conn), c.want);
    });
  }
});

describe('catch-all and hosts', () => {
  const cases: { desc: string; rule: string; catchAll: boolean; hosts: string[] | null }[] = [
    { desc: 'HostSNI(*)', rule: 'HostSNI(`*`)', catchAll: true, hosts: null },
    {
      desc: 'HostSNI(*) with ClientIP is not a catch-all (Traefik: exactly HostSNI(*))',
      rule: 'HostSNI(`*`) && ClientIP(`10.0.0.0/8`)',
      catchAll: false,
      hosts: null,
    },
    {
      desc: 'ClientIP first is not a catch-all either',
      rule: 'ClientIP(`10.0.0.0/8`) && HostSNI(`*`)',
      catchAll: false,
      hosts: null,
    },
    {
      desc: 'HostSNI(*) with ALPN is not a catch-all',
      rule: 'HostSNI(`*`) && ALPN(`h2`)',
      catchAll: false,
      hosts: null,
    },
    {
      desc: 'HostSNI(*) || other is not a catch-all',
      rule: 'HostSNI(`*`) || HostSNI(`a.com`)',
      catchAll: false,
      hosts: null,
    },
    { desc: 'negated is not a catch-all', rule: '!HostSNI(`*`)', catchAll: false, hosts: null },
    { desc: 'named host', rule: 'HostSNI(`A.com`)', catchAll: false, hosts: ['a.com'] },
    { desc: 'two names', rule: 'HostSNI(`a.com`) || HostSNI(`b.com`)', catchAll: false, hosts: ['a.com', 'b.com'] },
    { desc: 'name && ALPN', rule: 'HostSNI(`a.com`) && ALPN(`h2`)', catchAll: false, hosts: ['a.com'] },
    { desc: 'wildcard', rule: 'HostSNI(`*.a.com`)', catchAll: false, hosts: null },
    { desc: 'regexp', rule: 'HostSNIRegexp(`a`)', catchAll: false, hosts: null },
    { desc: 'ClientIP alone', rule: 'ClientIP(`127.0.0.1`)', catchAll: false, hosts: null },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseTcpRule(c.rule);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.rule.catchAll, c.catchAll);
      assert.deepEqual(r.rule.hosts === null ? null : [...r.rule.hosts].sort(), c.hosts);
    });
  }
});

describe('invalid TCP rules', () => {
  const cases = [
    { desc: 'ALPN acme-tls/1 is reserved', rule: 'ALPN(`acme-tls/1`)', error: /reserved for ACME/ },
    { desc: 'invalid hostname', rule: 'HostSNI(`a b`)', error: /not a valid hostname/ },
    { desc: 'HTTP matcher', rule: 'Host(`a`)', error: /unknown matcher Host at 0 — did you mean HostSNI\?/ },
    { desc: 'two arguments', rule: 'HostSNI(`a`, `b`)', error: /HostSNI takes 1 argument, got 2/ },
    { desc: 'bad regexp', rule: 'HostSNIRegexp(`[`)', error: /invalid regexp/ },
    { desc: 'non-ASCII regexp', rule: 'HostSNIRegexp(`ü`)', error: /not a valid hostname/ },
    { desc: 'non-ASCII name (write the punycode)', rule: 'HostSNI(`bücher.de`)', error: /not a valid hostname/ },
    { desc: 'empty HostSNI', rule: 'HostSNI(``)', error: /argument 1 is empty/ },
    { desc: 'empty HostSNIRegexp', rule: 'HostSNIRegexp(``)', error: /argument 1 is empty/ },
    { desc: 'bad ClientIP', rule: 'ClientIP(`nope`)', error: /invalid IP/ },
    { desc: 'empty', rule: '', error: /rule is empty/ },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseTcpRule(c.rule);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
});

describe('default TCP priority', () => {
  const cases = [
    { desc: 'lone HostSNI(*) is the last fallback', rule: 'HostSNI(`*`)', want: -1 },
    { desc: 'lower-case HostSNI(*) too', rule: 'hostsni(`*`)', want: -1 },
    { desc: 'HostSNI(*) with ClientIP: length', rule: 'HostSNI(`*`) && ClientIP(`::1`)', want: 31 },
    { desc: 'named: length', rule: 'HostSNI(`a.com`)', want: 16 },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(defaultTcpPriority(c.rule), c.want));
});
