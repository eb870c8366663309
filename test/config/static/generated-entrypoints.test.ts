import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { decodeStaticConfig } from '../../../src/config/static/decode.ts';
import type { StaticConfig } from '../../../src/config/static/types.ts';

function decode(yaml: string): StaticConfig {
  const r = decodeStaticConfig(parse(yaml), 'test');
  assert.deepEqual(r.diagnostics, []);
  assert.ok(r.config);
  return r.config;
}

/** `name → address` of the generated entrypoints. */
function generated(c: StaticConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(c.entryPoints).filter(([, ep]) => ep.generated === true).map(([n, ep]) => [n, ep.address]));
}

const TCP = [3306, 5432, 6379, 27017, 11211, 5672, 9092];
const DYN = Array.from({ length: 11 }, (_, i) => 10000 + i);

function family(ip: string, suffix: string, tcp: number[], udp: number[], web = 80, websecure = 443): Record<string, string> {
  const h = ip.includes(':') ? `[${ip}]` : ip;
  const out: Record<string, string> = { [`web${suffix}`]: `${h}:${web}`, [`websecure${suffix}`]: `${h}:${websecure}` };
  for (const p of tcp) out[`tcp-${p}${suffix}`] = `${h}:${p}`;
  for (const p of udp) out[`udp-${p}${suffix}`] = `${h}:${p}/udp`;
  return out;
}

describe('entrypoints generated from edge', () => {
  const cases: { desc: string; yaml: string; want: Record<string, string> }[] = [
    { desc: 'IPv4 only', yaml: 'edge: {publicIPv4: 203.0.113.7}', want: family('203.0.113.7', '', [...TCP, ...DYN], [53]) },
    { desc: 'IPv6 only', yaml: 'edge: {publicIPv6: "2001:db8::7"}', want: family('2001:db8::7', '-v6', [...TCP, ...DYN], [53]) },
    { desc: 'both families', yaml: 'edge: {publicIPv4: 203.0.113.7, publicIPv6: "2001:db8::7"}',
      want: { ...family('203.0.113.7', '', [...TCP, ...DYN], [53]), ...family('2001:db8::7', '-v6', [...TCP, ...DYN], [53]) } },
    { desc: 'extra TCP/UDP ports, duplicates folded', yaml: 'edge: {publicIPv4: 203.0.113.7, tcpPorts: [25, 993, 5432], udpPorts: [51820, 53]}',
      want: family('203.0.113.7', '', [...TCP, ...DYN, 25, 993], [53, 51820]) },
    { desc: 'custom dynamic range', yaml: 'edge: {publicIPv4: 203.0.113.7, dynamicPorts: "20000-20002"}',
      want: family('203.0.113.7', '', [...TCP, 20000, 20001, 20002], [53]) },
    { desc: 'unprivileged web ports for tests', yaml: 'edge: {publicIPv4: 127.0.0.1, webPort: 18080, websecurePort: 18443}',
      want: family('127.0.0.1', '', [...TCP, ...DYN], [53], 18080, 18443) },
  ];
  for (const c of cases) test(c.desc, () => assert.deepEqual(generated(decode(c.yaml)), c.want));

  test('no public address, no generated entrypoints', () => {
    assert.deepEqual(generated(decode('entryPoints: {web: {address: ":80"}}\nedge: {baseDomain: example.com}')), {});
  });
});

describe('shape of the generated HTTP entrypoints', () => {
  const c = decode('edge: {publicIPv4: 203.0.113.7, publicIPv6: "2001:db8::7"}');
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    { desc: 'web redirects to websecure', got: c.entryPoints['web']?.http?.redirections, want: { entryPoint: { to: 'websecure', scheme: 'https', permanent: true } } },
    { desc: 'web-v6 redirects to websecure-v6', got: c.entryPoints['web-v6']?.http?.redirections?.entryPoint?.to, want: 'websecure-v6' },
    { desc: 'websecure terminates TLS', got: c.entryPoints['websecure']?.http?.tls, want: {} },
    { desc: 'parsed host/port/protocol (v6 without brackets)', got: (({ host, port, protocol }) => ({ host, port, protocol }))(c.entryPoints['websecure-v6']!), want: { host: '2001:db8::7', port: 443, protocol: 'tcp' } },
    { desc: 'udp protocol', got: c.entryPoints['udp-53']?.protocol, want: 'udp' },
    { desc: 'defaults applied like user entrypoints', got: c.entryPoints['tcp-5432']?.transport?.respondingTimeouts?.readTimeout, want: '60s' },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});

describe('user entrypoints with a generated name win', () => {
  const c = decode(`
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
    { desc: 'user definition replaces the generated one', got: [c.entryPoints['websecure']?.address, c.entryPoints['websecure']?.generated], want: ['203.0.113.7:8443', undefined] },
    { desc: 'replaced entirely, not merged', got: c.entryPoints['websecure']?.http?.tls, want: { options: 'modern@file' } },
    { desc: 'other generated ones stay', got: c.entryPoints['web']?.generated, want: true },
    { desc: 'web still redirects to the user websecure', got: c.entryPoints['web']?.http?.redirections?.entryPoint?.to, want: 'websecure' },
    { desc: 'user tcp entrypoint override', got: c.entryPoints['tcp-5432']?.port, want: 15432 },
    { desc: 'user-only entrypoints kept', got: c.entryPoints['admin']?.port, want: 9000 },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});

test('a user entrypoint on a generated address is a conflict', () => {
  const r = decodeStaticConfig(parse('edge: {publicIPv4: 203.0.113.7}\nentryPoints: {postgres: {address: "203.0.113.7:5432"}}'), 'test');
  assert.equal(r.config, undefined);
  assert.deepEqual(r.diagnostics.map((d) => `${d.element}: ${d.message}`), ['entryPoints.postgres.address: 203.0.113.7:5432 is already used by entrypoint "tcp-5432"']);
});
