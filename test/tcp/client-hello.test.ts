import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClientHelloReader, type ClientHelloResult } from '../../src/tcp/client-hello.ts';
import { captureClientHello, resplitRecords, splitAt } from './hello-fixtures.ts';

/** Builds a ClientHello record by hand: extensions as [type, data] pairs. */
function buildHello(
  exts: [number, Buffer][],
  opts: { sessionId?: number; handshakeType?: number; cipherLen?: number } = {},
): Buffer {
  const sid = Buffer.alloc(opts.sessionId ?? 0, 7);
  const ciphers = Buffer.alloc(opts.cipherLen ?? 2, 0x13);
  const extBytes = Buffer.concat(exts.map(([t, d]) => Buffer.concat([u16(t), u16(d.length), d])));
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    Buffer.alloc(32, 1),
    Buffer.from([sid.length]),
    sid,
    u16(ciphers.length),
    ciphers,
    Buffer.from([1, 0]),
    u16(extBytes.length),
    extBytes,
  ]);
  const hs = Buffer.concat([
    Buffer.from([opts.handshakeType ?? 1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]),
    body,
  ]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(hs.length), hs]);
}
function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}
function sniExt(...names: string[]): [number, Buffer] {
  const entries = Buffer.concat(
    names.map((n) => Buffer.concat([Buffer.from([0]), u16(Buffer.byteLength(n, 'latin1')), Buffer.from(n, 'latin1')])),
  );
  return [0, Buffer.concat([u16(entries.length), entries])];
}
function alpnExt(...protos: string[]): [number, Buffer] {
  const list = Buffer.concat(protos.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])));
  return [16, Buffer.concat([u16(list.length), list])];
}

function feed(chunks: Buffer[], max?: number): ClientHelloResult {
  const r = new ClientHelloReader(max);
  let res: ClientHelloResult = { status: 'need-more' };
  for (const c of chunks) {
    res = r.push(c);
    if (res.status !== 'need-more') break;
  }
  return res;
}

describe('ClientHelloReader: hand-built hellos', () => {
  const cases: {
    desc: string;
    bytes: Buffer;
    max?: number;
    want: { sni: string; alpn: string[] } | 'error' | 'need-more';
  }[] = [
    {
      desc: 'SNI and ALPN',
      bytes: buildHello([sniExt('db.example.com'), alpnExt('h2', 'http/1.1')]),
      want: { sni: 'db.example.com', alpn: ['h2', 'http/1.1'] },
    },
    {
      desc: 'SNI normalised (case, trailing dot)',
      bytes: buildHello([sniExt('DB.Example.COM.')]),
      want: { sni: 'db.example.com', alpn: [] },
    },
    { desc: 'no extensions at all', bytes: buildHello([]), want: { sni: '', alpn: [] } },
    {
      desc: 'unknown extensions are skipped',
      bytes: buildHello([[0xff01, Buffer.from([0])], sniExt('a.b')]),
      want: { sni: 'a.b', alpn: [] },
    },
    {
      desc: 'session id of 32 bytes',
      bytes: buildHello([sniExt('x.y')], { sessionId: 32 }),
      want: { sni: 'x.y', alpn: [] },
    },
    { desc: 'truncated record is need-more', bytes: buildHello([sniExt('a.b')]).subarray(0, 20), want: 'need-more' },
    { desc: 'SSLv2 hello', bytes: Buffer.from([0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15]), want: 'error' },
    { desc: 'plain HTTP', bytes: Buffer.from('GET / HTTP/1.1\r\n\r\n'), want: 'error' },
    { desc: 'alert record', bytes: Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]), want: 'error' },
    { desc: 'record version 2.x', bytes: Buffer.from([0x16, 0x02, 0x00, 0x00, 0x04]), want: 'error' },
    { desc: 'zero-length handshake record', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]), want: 'error' },
    { desc: 'record longer than 2^14', bytes: Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01]), want: 'error' },
    {
      desc: 'ServerHello instead of ClientHello',
      bytes: buildHello([sniExt('a.b')], { handshakeType: 2 }),
      want: 'error',
    },
    { desc: 'session id longer than 32', bytes: buildHello([], { sessionId: 33 }), want: 'error' },
    { desc: 'odd cipher suites length', bytes: buildHello([], { cipherLen: 3 }), want: 'error' },
    { desc: 'duplicate SNI extension', bytes: buildHello([sniExt('a.b'), sniExt('c.d')]), want: 'error' },
    { desc: 'SNI with a control character', bytes: buildHello([sniExt('a\nb')]), want: 'error' },
    { desc: 'SNI with a space', bytes: buildHello([sniExt('a b')]), want: 'error' },
    { desc: 'empty SNI name', bytes: buildHello([sniExt('')]), want: 'error' },
    { desc: 'empty ALPN protocol', bytes: buildHello([alpnExt('')]), want: 'error' },
    {
      desc: 'hello over the size cap',
      bytes: buildHello([[0xff02, Buffer.alloc(2000)], sniExt('a.b')]),
      max: 1024,
      want: 'error',
    },
    {
      desc: 'large hello under a raised cap',
      bytes: buildHello([[0xff02, Buffer.alloc(12000)], sniExt('big.example')]),
      max: 32768,
      want: { sni: 'big.example', alpn: [] },
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const res = feed([c.bytes], c.max);
      if (c.want === 'error' || c.want === 'need-more') {
        assert.equal(res.status, c.want, JSON.stringify(res));
      } else {
        assert.equal(res.status, 'done', JSON.stringify(res));
        if (res.status !== 'done') return;
        assert.equal(res.hello.sni, c.want.sni);
        assert.deepEqual(res.hello.alpn, c.want.alpn);
        assert.deepEqual(res.hello.helloBytes, c.bytes);
      }
    });
  }

  test('a hello whose declared length exceeds the cap fails before it is all buffered', () => {
    const r = new ClientHelloReader(1024);
    const res = r.push(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00]));
    assert.equal(res.status, 'error');
  });

  test('results are sticky after done', () => {
    const bytes = buildHello([sniExt('a.b')]);
    const r = new ClientHelloReader();
    assert.equal(r.push(bytes).status, 'done');
    assert.equal(r.push(Buffer.from('more')).status, 'done');
  });
});

describe('ClientHelloReader: real node:tls hellos, property tests', () => {
  const profiles = [
    { servername: 'db.example.com', alpn: ['h2', 'http/1.1'] },
    { servername: 'Other.Example.ORG', alpn: ['postgresql'] },
    { servername: 'a.very.long.subdomain.name.for.testing.example.net' },
    {},
  ];
  const hellos: { hello: Buffer; sni: string; alpn: string[] }[] = [];
  before(async () => {
    for (const p of profiles) {
      const hello = await captureClientHello(p);
      hellos.push({ hello, sni: (p.servername ?? '').toLowerCase(), alpn: p.alpn ?? [] });
    }
  });

  test('each captured hello parses to its SNI and ALPN', () => {
    for (const h of hellos) {
      const res = feed([h.hello]);
      assert.equal(res.status, 'done');
      if (res.status === 'done') {
        assert.equal(res.hello.sni, h.sni);
        assert.deepEqual(res.hello.alpn, h.alpn);
      }
    }
  });

  test('any record split and any segmentation give the same result', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: hellos.length - 1 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 8 }),
        fc.array(fc.nat({ max: 4000 }), { maxLength: 30 }),
        (i, recordSizes, cuts) => {
          const h = hellos[i]!;
          const bytes = recordSizes.length ? resplitRecords(h.hello, recordSizes) : h.hello;
          const res = feed(splitAt(bytes, cuts));
          assert.equal(res.status, 'done');
          if (res.status !== 'done') return;
          assert.equal(res.hello.sni, h.sni);
          assert.deepEqual(res.hello.alpn, h.alpn);
          assert.deepEqual(res.hello.helloBytes, bytes);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('one byte at a time', () => {
    for (const h of hellos) {
      const bytes = resplitRecords(h.hello, [7, 50, 1]);
      const res = feed([...bytes].map((b) => Buffer.from([b])));
      assert.equal(res.status, 'done');
      if (res.status === 'done') assert.equal(res.hello.sni, h.sni);
    }
  });

  test('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (chunks) => {
        const r = new ClientHelloReader(2048);
        for (const c of chunks) r.push(c);
      }),
      { numRuns: 1000 },
    );
  });

  test('random bytes after a valid record header never throw', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 600 }),
        fc.array(fc.nat({ max: 600 }), { maxLength: 5 }),
        (body, cuts) => {
          const bytes = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, body.length >> 8, body.length & 0xff]), body]);
          const res = feed(splitAt(bytes, cuts));
          assert.ok(['error', 'done', 'need-more'].includes(res.status));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('mutations of real hellos never throw', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: hellos.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 10 }),
        (i, muts) => {
          const bytes = Buffer.from(hellos[i]!.hello);
          for (const [pos, v] of muts) bytes[pos % bytes.length] = v;
          feed([bytes]);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
