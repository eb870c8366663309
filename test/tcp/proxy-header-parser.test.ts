import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, V2_MAX_BYTES, type ProxyHeaderParse } from '../../src/tcp/proxy-header-parser.ts';
import { ipv6Bytes, proxyProtocolHeader, V2_SIGNATURE } from '../../src/tcp/proxy-protocol.ts';

/** A v2 header: signature, version/command byte, family byte, then the address block as given. */
function v2(verCmd: number, fam: number, block: Buffer, declaredLength = block.length): Buffer {
  const head = Buffer.alloc(4);
  head[0] = verCmd;
  head[1] = fam;
  head.writeUInt16BE(declaredLength, 2);
  return Buffer.concat([V2_SIGNATURE, head, block]);
}

function v4Block(src: string, dst: string, sp: number, dp: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src.split('.').map(Number)).copy(b, 0);
  Buffer.from(dst.split('.').map(Number)).copy(b, 4);
  b.writeUInt16BE(sp, 8);
  b.writeUInt16BE(dp, 10);
  return b;
}

function v6Block(src: string, dst: string, sp: number, dp: number): Buffer {
  const b = Buffer.alloc(36);
  ipv6Bytes(src).copy(b, 0);
  ipv6Bytes(dst).copy(b, 16);
  b.writeUInt16BE(sp, 32);
  b.writeUInt16BE(dp, 34);
  return b;
}

const ok = (
  length: number,
  version: 1 | 2,
  endpoints?: { srcIp: string; dstIp: string; srcPort: number; dstPort: number },
): ProxyHeaderParse => ({ status: 'ok', length, version, endpoints });

const v1 = (line: string): Buffer => Buffer.from(line, 'latin1');
const tcp4Line = 'PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n';
const tcp6Line = 'PROXY TCP6 2001:db8::7 2001:db8::1 51000 443\r\n';

describe('parseProxyHeader', () => {
  const cases: { desc: string; bytes: Buffer; want: ProxyHeaderParse | 'error' }[] = [
    // Not a header: the client's own bytes.
    { desc: 'an HTTP request', bytes: v1('GET / HTTP/1.1\r\n'), want: { status: 'none' } },
    {
      desc: 'POST shares only its first letter with PROXY',
      bytes: v1('POST / HTTP/1.1\r\n'),
      want: { status: 'none' },
    },
    { desc: 'a TLS record', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]), want: { status: 'none' } },
    {
      desc: 'CR LF then something else than the v2 signature',
      bytes: Buffer.from('\r\n\r\nhello'),
      want: { status: 'none' },
    },
    // Prefixes: wait.
    { desc: 'one byte of a v1 signature', bytes: v1('P'), want: { status: 'need-more' } },
    {
      desc: 'a v1 line without its end yet',
      bytes: v1('PROXY TCP4 203.0.113.7 192.0.2.1 51'),
      want: { status: 'need-more' },
    },
    { desc: 'five bytes of the v2 signature', bytes: V2_SIGNATURE.subarray(0, 5), want: { status: 'need-more' } },
    {
      desc: 'a v2 preamble whose address block has not arrived',
      bytes: v2(0x21, 0x11, Buffer.alloc(0), 12),
      want: { status: 'need-more' },
    },
    {
      desc: 'a v2 header truncated in its addresses',
      bytes: v2(0x21, 0x11, Buffer.alloc(5), 12),
      want: { status: 'need-more' },
    },
    // v1.
    {
      desc: 'v1 TCP4',
      bytes: v1(tcp4Line + 'GET /'),
      want: ok(tcp4Line.length, 1, { srcIp: '203.0.113.7', dstIp: '192.0.2.1', srcPort: 51000, dstPort: 443 }),
    },
    {
      desc: 'v1 TCP6',
      bytes: v1(tcp6Line),
      want: ok(tcp6Line.length, 1, { srcIp: '2001:db8::7', dstIp: '2001:db8::1', srcPort: 51000, dstPort: 443 }),
    },
    {
      desc: 'v1 UNKNOWN keeps the peer (rest of the line ignored)',
      bytes: v1('PROXY UNKNOWN ffff:f...f 1 2\r\n'),
      want: ok(30, 1),
    },
    { desc: 'v1 garbage after the signature', bytes: v1('PROXY GARBAGE\r\n'), want: 'error' },
    {
      desc: 'v1 binary garbage after the signature',
      bytes: Buffer.concat([v1('PROXY '), Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a])]),
      want: 'error',
    },
    { desc: 'v1 without CRLF in 107 bytes', bytes: v1('PROXY TCP4 ' + '1'.repeat(120)), want: 'error' },
    { desc: 'v1 ending with a bare LF', bytes: v1('PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\n'), want: 'error' },
    { desc: 'v1 TCP4 with IPv6 addresses', bytes: v1('PROXY TCP4 2001:db8::7 2001:db8::1 1 2\r\n'), want: 'error' },
    { desc: 'v1 TCP6 with a zone index', bytes: v1('PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n'), want: 'error' },
    { desc: 'v1 with an IPv4 octet over 255', bytes: v1('PROXY TCP4 203.0.113.700 192.0.2.1 1 2\r\n'), want: 'error' },
    { desc: 'v1 port over 65535', bytes: v1('PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n'), want: 'error' },
    { desc: 'v1 port with a leading zero', bytes: v1('PROXY TCP4 203.0.113.7 192.0.2.1 0443 443\r\n'), want: 'error' },
    { desc: 'v1 with a missing field', bytes: v1('PROXY TCP4 203.0.113.7 192.0.2.1 443\r\n'), want: 'error' },
    { desc: 'v1 with an extra field', bytes: v1('PROXY TCP4 203.0.113.7 192.0.2.1 1 2 3\r\n'), want: 'error' },
    { desc: 'v1 with two spaces', bytes: v1('PROXY TCP4  203.0.113.7 192.0.2.1 1 2\r\n'), want: 'error' },
    // v2.
    {
      desc: 'v2 PROXY TCP over IPv4',
      bytes: v2(0x21, 0x11, v4Block('203.0.113.7', '192.0.2.1', 51000, 443)),
      want: ok(28, 2, { srcIp: '203.0.113.7', dstIp: '192.0.2.1', srcPort: 51000, dstPort: 443 }),
    },
    {
      desc: 'v2 PROXY TCP over IPv6',
      bytes: v2(0x21, 0x21, v6Block('2001:db8::7', '2001:db8:0:0:1::1', 51000, 443)),
      want: ok(52, 2, { srcIp: '2001:db8::7', dstIp: '2001:db8::1:0:0:1', srcPort: 51000, dstPort: 443 }),
    },
    {
      desc: 'v2 IPv4-mapped IPv6 source',
      bytes: v2(0x21, 0x21, v6Block('::ffff:203.0.113.7', '::1', 1, 2)),
      want: ok(52, 2, { srcIp: '::ffff:203.0.113.7', dstIp: '::1', srcPort: 1, dstPort: 2 }),
    },
    {
      desc: 'v2 with TLVs after the addresses (skipped)',
      bytes: v2(
        0x21,
        0x11,
        Buffer.concat([v4Block('203.0.113.7', '192.0.2.1', 1, 2), Buffer.from([0x04, 0x00, 0x02, 0xab, 0xcd])]),
      ),
      want: ok(33, 2, { srcIp: '203.0.113.7', dstIp: '192.0.2.1', srcPort: 1, dstPort: 2 }),
    },
    {
      desc: 'v2 LOCAL keeps the peer (its block is skipped)',
      bytes: v2(0x20, 0x11, v4Block('203.0.113.7', '192.0.2.1', 1, 2)),
      want: ok(28, 2),
    },
    { desc: 'v2 LOCAL without addresses', bytes: v2(0x20, 0x00, Buffer.alloc(0)), want: ok(16, 2) },
    { desc: 'v2 UNSPEC family keeps the peer', bytes: v2(0x21, 0x00, Buffer.alloc(0)), want: ok(16, 2) },
    { desc: 'v2 UNIX family keeps the peer', bytes: v2(0x21, 0x31, Buffer.alloc(216)), want: ok(232, 2) },
    {
      desc: 'v2 garbage after the signature (version nibble 0)',
      bytes: Buffer.concat([V2_SIGNATURE, Buffer.from([0x00, 0x11, 0x00, 0x0c]), Buffer.alloc(12)]),
      want: 'error',
    },
    { desc: 'v2 version 3', bytes: v2(0x31, 0x11, v4Block('1.2.3.4', '5.6.7.8', 1, 2)), want: 'error' },
    { desc: 'v2 unknown command', bytes: v2(0x22, 0x11, v4Block('1.2.3.4', '5.6.7.8', 1, 2)), want: 'error' },
    { desc: 'v2 unknown family', bytes: v2(0x21, 0x41, v4Block('1.2.3.4', '5.6.7.8', 1, 2)), want: 'error' },
    { desc: 'v2 unknown transport', bytes: v2(0x21, 0x13, v4Block('1.2.3.4', '5.6.7.8', 1, 2)), want: 'error' },
    { desc: 'v2 IPv4 block shorter than its addresses', bytes: v2(0x21, 0x11, Buffer.alloc(4)), want: 'error' },
    { desc: 'v2 IPv6 block shorter than its addresses', bytes: v2(0x21, 0x21, Buffer.alloc(12)), want: 'error' },
    { desc: 'v2 length past the accepted bound', bytes: v2(0x21, 0x11, Buffer.alloc(0), V2_MAX_BYTES), want: 'error' },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const got = parseProxyHeader(c.bytes);
      if (c.want === 'error') assert.equal(got.status, 'error', JSON.stringify(got));
      else assert.deepEqual(got, c.want);
    });
  }

  test('every header berth writes upstream reads back the same', () => {
    const eps = [
      { srcIp: '203.0.113.7', srcPort: 51000, dstIp: '192.0.2.1', dstPort: 443 },
      { srcIp: '2001:db8::7', srcPort: 1, dstIp: '2001:db8::1', dstPort: 65535 },
    ];
    for (const ep of eps) {
      for (const version of [1, 2] as const) {
        const bytes = proxyProtocolHeader(version, ep);
        assert.deepEqual(parseProxyHeader(bytes), ok(bytes.length, version, ep), `v${version} ${ep.srcIp}`);
      }
    }
  });

  test('a header that arrives one byte at a time is undecided until its last byte', () => {
    for (const whole of [v1(tcp4Line), v2(0x21, 0x11, v4Block('203.0.113.7', '192.0.2.1', 1, 2))]) {
      for (let n = 1; n < whole.length; n++)
        assert.equal(parseProxyHeader(whole.subarray(0, n)).status, 'need-more', `${n} of ${whole.length}`);
      assert.equal(parseProxyHeader(whole).status, 'ok');
    }
  });
});
