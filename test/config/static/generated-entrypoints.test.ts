import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { decodeStaticConfig } from '../../../src/config/static/decode.ts';
import { isLocalAddress } from '../../../src/config/static/bind-address.ts';
import { edgeEntryPoint } from '../../../src/config/static/generated-entrypoints.ts';
import type { StaticConfig } from '../../../src/config/static/types.ts';

/** Decodes; the only diagnostic allowed is the notice that a public IPv4 is not on this host. */
function decode(yaml: string): StaticConfig {
  const r = decodeStaticConfig(parse(yaml), 'test');
  assert.deepEqual(
    r.diagnostics.filter((d) => d.element !== 'edge.bindAddress'),
    [],
  );
  assert.ok(r.config);
  return r.config;
}

/** A certificate resolver, which makes the generated `web` redirect to HTTPS. */
const RESOLVER = 'certificatesResolvers: {le: {acme: {email: ops@example.com, storage: acme.json, tlsChallenge: {}}}}';

/** `name → address` of the generated entrypoints. */
function generated(c: StaticConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(c.entryPoints)
      .filter(([, ep]) => ep.generated === true)
      .map(([n, ep]) => [n, ep.address]),
  );
}

const TCP = [3306, 5432, 6379, 27017, 11211, 5672, 9092];
const DYN = Array.from({ length: 11 }, (_, i) => 10000 + i);

function family(
  ip: string,
  suffix: string,
  tcp: number[],
  udp: number[],
  web = 80,
  websecure = 443,
): Record<string, string> {
  const h = ip.includes(':') ? `[${ip}]` : ip;
  const out: Record<string, string> = { [`web${suffix}`]: `${h}:${web}`, [`websecure${suffix}`]: `${h}:${websecure}` };
  for (const p of tcp) out[`tcp-${p}${suffix}`] = `${h}:${p}`;
  for (const p of udp) out[`udp-${p}${suffix}`] = `${h}:${p}/udp`;
  return out;
}

describe('entrypoints generated from edge', () => {
  const cases: { desc: string; yaml: string; want: Record<string, string> }[] = [
    {
      desc: 'IPv4 only (not on this host: every IPv4 address)',
      yaml: 'edge: {publicIPv4: 203.0.113.7}',
      want: family('0.0.0.0', '', [...TCP, ...DYN], [53]),
    },
    {
      desc: 'IPv4 of this host: that address',
      yaml: 'edge: {publicIPv4: 127.0.0.1}',
      want: family('127.0.0.1', '', [...TCP, ...DYN], [53]),
    },
    {
      desc: 'edge.bindAddress chosen explicitly',
      yaml: 'edge: {publicIPv4: 203.0.113.7, bindAddress: 198.51.100.5}',
      want: family('198.51.100.5', '', [...TCP, ...DYN], [53]),
    },
    {
      desc: 'IPv6 only',
      yaml: 'edge: {publicIPv6: "2001:db8::7"}',
      want: family('2001:db8::7', '-v6', [...TCP, ...DYN], [53]),
    },
    {
      desc: 'both families',
      yaml: 'edge: {publicIPv4: 203.0.113.7, publicIPv6: "2001:db8::7"}',
      want: {
        ...family('0.0.0.0', '', [...TCP, ...DYN], [53]),
        ...family('2001:db8::7', '-v6', [...TCP, ...DYN], [53]),
      },
    },
    {
      desc: 'extra TCP/UDP ports, duplicates folded',
      yaml: 'edge: {publicIPv4: 203.0.113.7, tcpPorts: [25, 993, 5432], udpPorts: [51820, 53]}',
      want: family('0.0.0.0', '', [...TCP, ...DYN, 25, 993], [53, 51820]),
    },
    {
      desc: 'custom dynamic range',
      yaml: 'edge: {publicIPv4: 203.0.113.7, dynamicPorts: "20000-20002"}',
      want: family('0.0.0.0', '', [...TCP, 20000, 20001, 20002], [53]),
    },
    {
      desc: 'unprivileged web ports for tests',
      yaml: 'edge: {publicIPv4: 127.0.0.1, webPort: 18080, websecurePort: 18443}',
      want: family('127.0.0.1', '', [...TCP, ...DYN], [53], 18080, 18443),
    },
  ];
  for (const c of cases) test(c.desc, () => assert.deepEqual(generated(decode(c.yaml)), c.want));

  test('no public address, no generated entrypoints', () => {
    assert.deepEqual(generated(decode('entryPoints: {web: {address: ":80"}}\nedge: {baseDomain: example.com}')), {});
  });
});

describe('shape of the generated HTTP entrypoints', () => {
  const c = decode(`edge: {publicIPv4: 203.0.113.7, publicIPv6: "2001:db8::7"}\n${RESOLVER}`);
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    {
      desc: 'web redirects to websecure',
      got: c.entryPoints['web']?.http?.redirections,
      want: { entryPoint: { to: 'websecure', scheme: 'https', permanent: true } },
    },
    {
      desc: 'web-v6 redirects to websecure-v6',
      got: c.entryPoints['web-v6']?.http?.redirections?.entryPoint?.to,
      want: 'websecure-v6',
    },
    { desc: 'websecure terminates TLS', got: c.entryPoints['websecure']?.http?.tls, want: {} },
    {
      desc: 'parsed host/port/protocol (v6 without brackets)',
      got: (({ host, port, protocol }) => ({ host, port, protocol }))(c.entryPoints['websecure-v6']!),
      want: { host: '2001:db8::7', port: 443, protocol: 'tcp' },
    },
    { desc: 'udp protocol', got: c.entryPoints['udp-53']?.protocol, want: 'udp' },
    {
      desc: 'defaults applied like user entrypoints',
      got: c.entryPoints['tcp-5432']?.transport?.respondingTimeouts?.readTimeout,
      want: '60s',
    },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});

describe('user entrypoints with a generated name win', () => {
  const c = decode(`
${RESOLVER}
edge: {publicIPv4: 203.0.113.7}
entryPoints:
  websecure:
    address: "203.0.113.7:8443"
    http: {tls: {options: modern@file}}
  tcp-5432:
    address: "127.0.0.1:15432"
  admin:
    address: "127.0.0.1:9000"
`);
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    {
      desc: 'user definition replaces the generated one',
      got: [c.entryPoints['websecure']?.address, c.entryPoints['websecure']?.generated],
      want: ['203.0.113.7:8443', undefined],
    },
    {
      desc: 'replaced entirely, not merged',
      got: c.entryPoints['websecure']?.http?.tls,
      want: { options: 'modern@file' },
    },
    { desc: 'other generated ones stay', got: c.entryPoints['web']?.generated, want: true },
    {
      desc: 'web still redirects to the user websecure',
      got: c.entryPoints['web']?.http?.redirections?.entryPoint?.to,
      want: 'websecure',
    },
    { desc: 'user tcp entrypoint override', got: c.entryPoints['tcp-5432']?.port, want: 15432 },
    { desc: 'user-only entrypoints kept', got: c.entryPoints['admin']?.port, want: 9000 },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});

test('a user entrypoint on a generated address is a conflict', () => {
  const r = decodeStaticConfig(
    parse('edge: {publicIPv4: 127.0.0.1}\nentryPoints: {postgres: {address: "127.0.0.1:5432"}}'),
    'test',
  );
  assert.equal(r.config, undefined);
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.element}: ${d.message}`),
    ['entryPoints.postgres.address: 127.0.0.1:5432 is already used by entrypoint "tcp-5432"'],
  );
});

describe('edge.bindAddress', () => {
  const notice = (yaml: string): string[] =>
    decodeStaticConfig(parse(yaml), 'test').diagnostics.map((d) => `${d.level} ${d.element}: ${d.message}`);
  const cases: { desc: string; yaml: string; bind: string; notice: string[] }[] = [
    {
      desc: 'public IPv4 on this host: bound itself, silently',
      yaml: 'edge: {publicIPv4: 127.31.4.5}',
      bind: '127.31.4.5',
      notice: [],
    },
    {
      desc: 'public IPv4 not on this host (NAT): 0.0.0.0 with a notice',
      yaml: 'edge: {publicIPv4: 203.0.113.7}',
      bind: '0.0.0.0',
      notice: [
        'warning edge.bindAddress: edge.publicIPv4 203.0.113.7 is not an address of this host (NAT): the generated entrypoints listen on 0.0.0.0; set edge.bindAddress to choose the address',
      ],
    },
    {
      desc: 'explicit: as given, no notice',
      yaml: 'edge: {publicIPv4: 203.0.113.7, bindAddress: 198.51.100.23}',
      bind: '198.51.100.23',
      notice: [],
    },
    {
      desc: 'no public address: every IPv4 address',
      yaml: 'edge: {baseDomain: example.com}',
      bind: '0.0.0.0',
      notice: [],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      assert.equal(decodeStaticConfig(parse(c.yaml), 'test').config?.edge.bindAddress, c.bind);
      assert.deepEqual(notice(c.yaml), c.notice);
    });
  }

  const lo = {
    address: '127.0.0.1',
    netmask: '255.0.0.0',
    family: 'IPv4' as const,
    mac: '00:00:00:00:00:00',
    internal: true,
    cidr: '127.0.0.1/8',
  };
  const eth = {
    address: '198.51.100.5',
    netmask: '255.255.255.0',
    family: 'IPv4' as const,
    mac: '02:00:00:00:00:01',
    internal: false,
    cidr: '198.51.100.5/24',
  };
  const interfaces = { lo: [lo], eth0: [eth] };
  const local: { desc: string; ip: string; want: boolean }[] = [
    { desc: 'an interface address', ip: '198.51.100.5', want: true },
    { desc: 'another address of its subnet', ip: '198.51.100.6', want: false },
    { desc: 'anywhere in the loopback range', ip: '127.200.1.2', want: true },
    { desc: 'a public address of a NAT', ip: '203.0.113.7', want: false },
    { desc: 'not an address', ip: 'example.com', want: false },
  ];
  for (const c of local)
    test(`isLocalAddress: ${c.desc}`, () => assert.equal(isLocalAddress(c.ip, interfaces), c.want));
});

describe('edge.forwardedHeaders and the redirect of the generated web', () => {
  const trusted = decode(
    `edge: {publicIPv4: 127.0.0.1, forwardedHeaders: {trustedIPs: [173.245.48.0/20, "2400:cb00::/32"]}}\n${RESOLVER}`,
  );
  const plain = decode('edge: {publicIPv4: 127.0.0.1}');
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    {
      desc: 'trustedIPs apply to web',
      got: trusted.entryPoints['web']?.forwardedHeaders?.trustedIPs,
      want: ['173.245.48.0/20', '2400:cb00::/32'],
    },
    {
      desc: 'and to websecure',
      got: trusted.entryPoints['websecure']?.forwardedHeaders?.trustedIPs,
      want: ['173.245.48.0/20', '2400:cb00::/32'],
    },
    {
      desc: 'and to the TCP ones',
      got: trusted.entryPoints['tcp-5432']?.forwardedHeaders?.trustedIPs,
      want: ['173.245.48.0/20', '2400:cb00::/32'],
    },
    { desc: 'not to UDP ones', got: trusted.entryPoints['udp-53']?.forwardedHeaders, want: undefined },
    { desc: 'none configured: nothing trusted', got: plain.entryPoints['web']?.forwardedHeaders, want: undefined },
    {
      desc: 'a resolver: web redirects to websecure',
      got: trusted.entryPoints['web']?.http?.redirections?.entryPoint?.to,
      want: 'websecure',
    },
    { desc: 'no resolver: web serves plain HTTP', got: plain.entryPoints['web']?.http?.redirections, want: undefined },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});

describe('entrypoints opened while routers need them', () => {
  const c = decode(
    'edge: {publicIPv4: 127.0.0.1, bindAddress: 127.9.9.9, forwardedHeaders: {trustedIPs: [10.0.0.0/8]}}',
  );
  const tcp = edgeEntryPoint(c.edge, 6667, 'tcp');
  const udp = edgeEntryPoint(c.edge, 10001, 'udp');
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    {
      desc: 'listen on edge.bindAddress',
      got: [tcp.address, tcp.host, tcp.port, tcp.protocol],
      want: ['127.9.9.9:6667', '127.9.9.9', 6667, 'tcp'],
    },
    { desc: 'UDP too', got: [udp.address, udp.protocol], want: ['127.9.9.9:10001/udp', 'udp'] },
    { desc: 'defaults as for a written entrypoint', got: tcp.transport?.lifeCycle?.graceTimeOut, want: '10s' },
    { desc: 'trusted forwarded headers', got: tcp.forwardedHeaders?.trustedIPs, want: ['10.0.0.0/8'] },
    { desc: 'marked generated and on demand', got: [tcp.generated, tcp.onDemand], want: [true, true] },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});
