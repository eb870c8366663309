import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { compileFormatter, formatToString } from '../../src/observability/access-log-lines.ts';
import { Capture, captureHeaders } from '../../src/observability/capture.ts';
import { jsonString, serviceAddr, splitHostPort } from '../../src/observability/line-values.ts';
import { ByteWriter } from '../../src/observability/byte-writer.ts';
import {
  CORE_FIELDS,
  compileJson,
  formatCommon,
  type AccessRecord,
  type CoreField,
  type FieldMode,
  type HeaderField,
} from '../../src/observability/access-log-format.ts';
import { type LineSink, skipBytes } from '../../src/observability/line-sink.ts';
import { LineWriter, type LineWriterOptions } from '../../src/observability/line-writer.ts';
import { waitUntil } from '../helpers/net.ts';

/** A capture with every field set; `over` changes some. */
function capture(over: Partial<Capture> = {}): Capture {
  const c = new Capture();
  const base: Partial<Capture> = {
    start: 1000.25,
    end: 1000.25 + 1.234567,
    entrypoint: 'web',
    clientIp: '127.0.0.1',
    remote: '127.0.0.1',
    remotePort: 40000,
    username: '-',
    method: 'GET',
    url: '/a?b=1',
    httpVersion: '1.1',
    scheme: 'http',
    headers: { host: 'app.example.com:8000', 'user-agent': 'ua/1', referer: 'http://r/', 'content-length': '3' },
    status: 200,
    bytes: 11,
    count: 1,
    retries: 0,
    router: 'web@docker',
    service: 'web-svc@docker',
    upstream: 'http://127.0.0.9:8080',
  };
  Object.assign(c, base, over);
  captureHeaders(c, c.headers!, true);
  return c;
}

/** The record the access log built per request before lines were formatted in batches. */
function record(c: Capture): AccessRecord {
  const durationNs = Math.round((c.end - c.start) * 1e6);
  const port = c.remotePort !== undefined ? String(c.remotePort) : '-';
  const hostHeader = typeof c.headers!.host === 'string' ? c.headers!.host : '';
  const [host, hostPort] = splitHostPort(hostHeader);
  const cl = Number(c.headers!['content-length'] ?? 0);
  const rec: AccessRecord = {
    StartUTC: performance.timeOrigin + c.start,
    Duration: durationNs,
    EntryPointName: c.entrypoint,
    ClientAddr: c.remote.includes(':') ? `[${c.remote}]:${port}` : `${c.remote}:${port}`,
    ClientHost: c.clientIp,
    ClientPort: port,
    ClientUsername: c.username,
    RequestAddr: hostHeader,
    RequestHost: host,
    RequestPort: hostPort,
    RequestMethod: c.method,
    RequestPath: c.url,
    RequestProtocol: `HTTP/${c.httpVersion}`,
    RequestScheme: c.scheme,
    RequestContentSize: Number.isFinite(cl) && cl > 0 ? cl : 0,
    OriginStatus: undefined,
    OriginContentSize: undefined,
    OriginDuration: undefined,
    DownstreamStatus: c.status,
    DownstreamContentSize: c.bytes,
    Overhead: durationNs,
    RequestCount: c.count,
    RetryAttempts: c.retries,
    RouterName: c.router,
    ServiceName: c.service,
    ServiceURL: c.upstream,
    ServiceAddr: undefined,
    TLSVersion: c.tlsVersion,
    TLSCipher: c.tlsCipher,
  };
  if (c.upstream !== undefined) {
    rec.ServiceAddr = serviceAddr(c.upstream);
    rec.OriginStatus = c.status;
    rec.OriginContentSize = c.bytes;
    const origin = c.originNs >= 0 ? c.originNs : durationNs;
    rec.OriginDuration = origin;
    rec.Overhead = Math.max(0, durationNs - origin);
  }
  return rec;
}

/** The text of written chunks. */
const text = (chunks: readonly Uint8Array[]): string => Buffer.concat(chunks).toString('utf8');

const modesOf = (names: Partial<Record<CoreField, FieldMode>>, def: FieldMode = 'keep'): Record<CoreField, FieldMode> =>
  Object.fromEntries(CORE_FIELDS.map((f) => [f, names[f] ?? def])) as Record<CoreField, FieldMode>;

/** Captures that differ line to line in the ways that defeat or exercise the memos. */
const batch = (): Capture[] => [
  capture(),
  capture({ count: 2, url: '/b', end: 1000.25 + 0.5 }),
  capture({ count: 3, status: 404, bytes: 19, router: undefined, service: undefined, upstream: undefined }),
  capture({
    count: 4,
    remote: '::1',
    clientIp: '::1',
    remotePort: 51000,
    headers: { host: '[::1]:8443' },
    httpVersion: '2.0',
    scheme: 'https',
    tlsVersion: '1.3',
    tlsCipher: 'TLS_AES_128_GCM_SHA256',
  }),
  capture({
    count: 5,
    originNs: 400_000,
    retries: 2,
    username: 'alice',
    method: 'POST',
    headers: { host: 'bare.test', 'content-length': '12' },
  }),
  capture({
    count: 6,
    router: 'r"},"evil":"1\n@docker',
    url: '/p"q\\\u0001café-日本-🚀\ud800',
    headers: { host: 'app.example.com:8000', 'user-agent': 'curl/8 "q"' },
  }),
  capture({ count: 7, remotePort: undefined, start: 2000.999, end: 3001.5 }),
  capture({ count: 8 }),
];

describe('access log: batch formatting matches the per-line formatter', () => {
  const headerCases: { desc: string; def: FieldMode; names: [string, FieldMode][] }[] = [
    { desc: 'no headers', def: 'drop', names: [] },
    {
      desc: 'named headers',
      def: 'drop',
      names: [
        ['user-agent', 'keep'],
        ['content-length', 'redact'],
      ],
    },
    {
      desc: 'all headers, some dropped',
      def: 'keep',
      names: [
        ['referer', 'drop'],
        ['user-agent', 'redact'],
      ],
    },
  ];
  const fieldCases: { desc: string; modes: Record<CoreField, FieldMode> }[] = [
    { desc: 'every field', modes: modesOf({}) },
    {
      desc: 'some dropped and redacted',
      modes: modesOf({
        ClientHost: 'redact',
        Duration: 'drop',
        RouterName: 'redact',
        StartLocal: 'drop',
        RequestHost: 'drop',
        RetryAttempts: 'redact',
        OriginDuration: 'redact',
      }),
    },
    {
      desc: 'only a few kept',
      modes: modesOf({ DownstreamStatus: 'keep', RequestPath: 'keep', StartUTC: 'redact' }, 'drop'),
    },
  ];
  for (const fc of fieldCases) {
    for (const hc of headerCases) {
      test(`JSON: ${fc.desc}, ${hc.desc}`, () => {
        const headerNames = new Map(hc.names);
        const format = compileFormatter({ format: 'json', modes: fc.modes, headerDefault: hc.def, headerNames });
        const old = compileJson(
          CORE_FIELDS.filter((f) => fc.modes[f] !== 'drop').map((f) => [f, fc.modes[f]] as const),
        );
        const caps = batch();
        const resHeaders = { 'content-type': 'text/plain', 'x-b': ['1', '2'] };
        for (const c of caps) c.resHeaders = resHeaders;
        const expected = caps.map((c) => {
          const hs: HeaderField[] = [];
          const add = (prefix: string, h: Readonly<Record<string, unknown>>): void => {
            for (const k in h) {
              const m = headerNames.get(k) ?? hc.def;
              if (m === 'drop' || h[k] === undefined) continue;
              const v = h[k];
              hs.push({
                key: prefix + k.replace(/(^|-)([a-z])/g, (_m, d: string, ch: string) => d + ch.toUpperCase()),
                value: m === 'redact' ? 'REDACTED' : Array.isArray(v) ? v.join(',') : String(v),
              });
            }
          };
          if (hc.def !== 'drop' || hc.names.some(([, m]) => m !== 'drop')) {
            add('request_', c.headers!);
            add('downstream_', resHeaders);
          }
          return old(record(c), hs, performance.timeOrigin + c.end);
        });
        // Formatted in one batch and in two (memos carry over between batches).
        assert.equal(formatToString(format, caps), expected.join(''));
        const again = compileFormatter({ format: 'json', modes: fc.modes, headerDefault: hc.def, headerNames });
        assert.equal(formatToString(again, caps.slice(0, 3)) + formatToString(again, caps.slice(3)), expected.join(''));
        for (const line of expected) JSON.parse(line);
      });
    }
  }

  for (const generic of [false, true]) {
    for (const fc of fieldCases) {
      for (const hc of [
        headerCases[0]!,
        {
          desc: 'referer and agent kept',
          def: 'drop' as FieldMode,
          names: [
            ['referer', 'keep'],
            ['user-agent', 'redact'],
          ] as [string, FieldMode][],
        },
      ]) {
        test(`${generic ? 'genericCLF' : 'CLF'}: ${fc.desc}, ${hc.desc}`, () => {
          const headerNames = new Map(hc.names);
          const format = compileFormatter({
            format: generic ? 'generic' : 'common',
            modes: fc.modes,
            headerDefault: hc.def,
            headerNames,
          });
          const hm = (n: string): FieldMode => headerNames.get(n) ?? hc.def;
          const pick = (n: string, v: unknown): string | undefined =>
            hm(n) === 'drop' ? undefined : hm(n) === 'redact' ? 'REDACTED' : (v as string | undefined);
          const caps = batch();
          const expected = caps
            .map((c) =>
              formatCommon(
                record(c),
                fc.modes,
                pick('referer', c.headers!.referer),
                pick('user-agent', c.headers!['user-agent']),
                generic,
              ),
            )
            .join('');
          // The file holds UTF-8: a lone surrogate (invalid) is written as U+FFFD.
          assert.equal(formatToString(format, caps), Buffer.from(expected, 'utf8').toString('utf8'));
        });
      }
    }
  }

  test('JSON strings: plain ones are quoted as they are, others as JSON.stringify does', () => {
    for (const v of ['web@docker', '', 'a"b', 'a\\b', 'x\u0000y', 'tab\t', 'café', 'x\ud800y', '🚀'])
      assert.equal(jsonString(v), JSON.stringify(v));
  });
});

describe('access log: line writer batches', () => {
  /** A sink that keeps what it was given and completes writes when told. */
  function heldSink(): LineSink & { texts: string[]; release(): void } {
    let pending: (() => void)[] = [];
    const s = {
      texts: [] as string[],
      write(chunks: readonly Uint8Array[], done: (err: Error | null) => void) {
        s.texts.push(text(chunks));
        pending.push(() => done(null));
      },
      close() {},
      release() {
        const p = pending;
        pending = [];
        for (const f of p) f();
      },
    };
    return s;
  }

  test('lines are written in order, one write at a time: what arrives during a write goes out in the next', async () => {
    const sink = heldSink();
    const w = new LineWriter<number>(
      sink,
      { bufferLines: 0, flushMs: 1000, maxPendingBytes: 1 << 20 },
      (items, out) => {
        for (const i of items) out.text(`${i}\n`);
      },
    );
    for (let i = 0; i < 3; i++) w.push(i);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sink.texts, ['0\n1\n2\n']);
    for (let i = 3; i < 6; i++) w.push(i);
    await new Promise((r) => setImmediate(r));
    assert.equal(sink.texts.length, 1, 'the first write is still in flight');
    sink.release();
    assert.deepEqual(sink.texts, ['0\n1\n2\n', '3\n4\n5\n']);
    sink.release();
    await w.close();
  });

  test('with a write delay, lines of many turns go out in one write; drain does not wait for the delay', async () => {
    const sink = heldSink();
    const w = new LineWriter<string>(sink, {
      bufferLines: 0,
      flushMs: 1000,
      maxPendingBytes: 1 << 20,
      writeDelayMs: 60_000,
    });
    for (let i = 0; i < 5; i++) {
      w.push(`${i}\n`);
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(sink.texts, [], 'nothing written within the delay');
    const drained = w.drain();
    sink.release();
    await drained;
    assert.deepEqual(sink.texts, ['0\n1\n2\n3\n4\n']);
    // Lines that arrive while a write is in flight wait for the delay too, unless someone drains.
    w.push('5\n');
    const closed = w.close();
    sink.release();
    await closed;
    assert.deepEqual(sink.texts, ['0\n1\n2\n3\n4\n', '5\n']);
  });

  test('unwritten bytes are bounded by maxPendingBytes (then lines are dropped, counted and reported)', async () => {
    const sink = heldSink();
    const errors: string[] = [];
    const w = new LineWriter<string>(sink, {
      bufferLines: 0,
      flushMs: 1000,
      maxPendingBytes: 100,
      onError: (e) => errors.push(e.message),
    });
    w.push('first\n');
    await new Promise((r) => setImmediate(r));
    assert.equal(sink.texts.length, 1, 'a write is in flight');
    for (let i = 0; i < 10; i++) w.push(`line-${i}-${'x'.repeat(20)}\n`);
    assert.ok(w.dropped > 0, 'lines past the byte bound are dropped');
    sink.release();
    sink.release();
    await w.close();
    const written = sink.texts.join('').split('\n').filter(Boolean);
    assert.equal(written.length + w.dropped, 11);
    assert.deepEqual(written.slice(0, 2), ['first', `line-0-${'x'.repeat(20)}`], 'kept lines stay in order');
    // Once when dropping starts, once with the count when the output caught up.
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors[0]!, /dropped until it catches up/);
    assert.match(errors[1]!, new RegExp(`caught up; ${w.dropped} access log lines were dropped`));
  });

  test('a line the formatter fails on leaves nothing behind; it is counted and reported, and the caller may reuse its item', async () => {
    const sink = heldSink();
    const errors: Error[] = [];
    const w = new LineWriter<{ v: string }>(
      sink,
      { bufferLines: 0, flushMs: 1000, maxPendingBytes: 1 << 20, onError: (e) => errors.push(e) },
      (items, out) => {
        for (const i of items) {
          // Part of the line is written before the failure: none of it may reach the file.
          out.text(`${i.v}-start `);
          if (i.v === 'bad') throw new Error('bad item');
          out.text(`${i.v}-end\n`);
        }
      },
    );
    const scratch = { v: 'a' };
    w.push(scratch);
    scratch.v = 'bad';
    w.push(scratch);
    scratch.v = 'b';
    w.push(scratch);
    const closed = w.close();
    sink.release();
    await closed;
    assert.equal(sink.texts.join(''), 'a-start a-end\nb-start b-end\n');
    assert.equal(w.dropped, 1);
    assert.equal(errors.length, 1);
  });

  /** A writer of pooled `{ v }` items (slot/commit) that records each batch the formatter was given. */
  function pooled(sink: LineSink, opts: Partial<LineWriterOptions> = {}) {
    const batches: string[][] = [];
    const released: string[] = [];
    const errors: Error[] = [];
    const w = new LineWriter<{ v: string }>(
      sink,
      { bufferLines: 0, flushMs: 1000, maxPendingBytes: 1 << 20, onError: (e) => errors.push(e), ...opts },
      (items, out) => {
        batches.push(items.map((i) => i.v));
        for (const i of items) {
          out.text(`${i.v}-start `);
          if (i.v.startsWith('bad')) throw new Error(`cannot format ${i.v}`);
          out.text(`${i.v}-end\n`);
        }
      },
      {
        make: () => ({ v: '' }),
        release: (i) => {
          released.push(i.v);
          i.v = 'released';
        },
      },
    );
    const log = (v: string): void => {
      w.slot().v = v;
      w.commit();
    };
    return { w, log, batches, released, errors };
  }

  test('committed items are formatted together just before their write, in order with pushed ones, and released', async () => {
    const sink = heldSink();
    const { w, log, batches, released } = pooled(sink, { writeDelayMs: 60_000 });
    log('a');
    log('b');
    log('c');
    assert.deepEqual(batches, [], 'nothing formatted when committed');
    w.push({ v: 'p' });
    log('d');
    const drained = w.drain();
    sink.release();
    await drained;
    assert.deepEqual(sink.texts, ['a-start a-end\nb-start b-end\nc-start c-end\np-start p-end\nd-start d-end\n']);
    assert.deepEqual(
      batches,
      [['a', 'b', 'c'], ['p'], ['d']],
      'one formatter call for the items committed before the push',
    );
    assert.deepEqual(released, ['a', 'b', 'c', 'd']);
    // The pool hands out the same items again.
    const first = w.slot();
    assert.equal(first.v, 'released');
    await w.close();
  });

  test('items committed while a write is in flight are written after it, without another commit', async () => {
    const sink = heldSink();
    const { w, log } = pooled(sink, { writeDelayMs: 5 });
    log('a');
    await waitUntil(async () => sink.texts.length === 1, 'the first write', 5000);
    log('b');
    sink.release();
    await waitUntil(async () => sink.texts.length === 2, 'the second write', 5000);
    assert.deepEqual(sink.texts, ['a-start a-end\n', 'b-start b-end\n']);
    sink.release();
    await w.close();
  });

  test('a committed item the formatter fails on drops only its own line, reported; its batch keeps the others', async () => {
    const sink = heldSink();
    const { w, log, errors } = pooled(sink);
    log('a');
    log('bad1');
    log('b');
    const closed = w.close();
    sink.release();
    await closed;
    assert.equal(sink.texts.join(''), 'a-start a-end\nb-start b-end\n');
    assert.equal(w.dropped, 1);
    assert.deepEqual(
      errors.map((e) => e.message),
      ['cannot format bad1'],
    );
  });

  test('committed items are formatted at once when maxQueued are waiting, and dropped when the output is maxPendingBytes behind', async () => {
    const sink = heldSink();
    const { w, log, batches } = pooled(sink, { writeDelayMs: 60_000, maxQueued: 3, maxPendingBytes: 40 });
    log('a');
    log('b');
    assert.equal(batches.length, 0);
    log('c');
    assert.deepEqual(batches, [['a', 'b', 'c']], 'formatted when the queue is full');
    // 42 bytes pending (over 40): the next lines are dropped until the output catches up.
    log('d');
    log('e');
    assert.equal(w.dropped, 2);
    const closed = w.close();
    sink.release();
    await closed;
    assert.equal(sink.texts.join(''), 'a-start a-end\nb-start b-end\nc-start c-end\n');
  });

  test('a short write goes on with the bytes that are left', () => {
    const chunks = [Buffer.from('abc'), Buffer.from('de'), Buffer.from('fgh')];
    assert.equal(text(skipBytes(chunks, 0)), 'abcdefgh');
    assert.equal(text(skipBytes(chunks, 4)), 'efgh');
    assert.equal(text(skipBytes(chunks, 5)), 'fgh');
    assert.deepEqual(skipBytes(chunks, 8), []);
  });
});

describe('access log: byte writer', () => {
  test('text is UTF-8 whatever it holds, across chunk boundaries', () => {
    const w = new ByteWriter(16);
    const parts = ['ascii only\n', 'café\n', '日本 🚀\n', 'x\ud800y\n', '', 'a'.repeat(40)];
    for (const p of parts) w.text(p);
    assert.ok(w.take().length > 1, 'several chunks');
    for (const p of parts) w.text(p);
    assert.equal(w.length, Buffer.byteLength(parts.join(''), 'utf8'));
    assert.deepEqual(Buffer.concat(w.take()), Buffer.from(parts.join(''), 'utf8'));
    assert.equal(w.length, 0);
  });

  test('JSON strings match JSON.stringify; integers match String', () => {
    const w = new ByteWriter(8);
    const vals = ['web@docker', '', 'a"b', 'a\\b', 'x\u0000y', 'tab\t', 'café', 'x\ud800y', '🚀', '/p?q=1&r=%20'];
    const nums = [0, 7, 10, 99, 100, 1234567, 2 ** 53 - 1, -5, 1.5, NaN];
    for (const v of vals) w.json(v);
    for (const n of nums) {
      w.uint(n);
      w.byte(44);
    }
    assert.equal(
      Buffer.concat(w.take()).toString('utf8'),
      vals.map((v) => JSON.stringify(v)).join('') + nums.map((n) => String(n) + ',').join(''),
    );
  });

  test('a fraction of a second is written over the zeros of prepared bytes, zero-padded', () => {
    const w = new ByteWriter(16);
    w.text('x');
    for (const [v, a, b] of [
      [42, 3, 14],
      [999_999, 3, -1],
      [0, -1, 14],
    ] as const)
      w.bytesWithFraction(Buffer.from('"a.000000","b.000000"'), a, b, v);
    assert.equal(
      Buffer.concat(w.take()).toString(),
      'x"a.000042","b.000042""a.999999","b.000000""a.000000","b.000000"',
    );
  });

  test('restoring forgets what was written after save, even across chunks', () => {
    const w = new ByteWriter(8);
    w.text('keep');
    w.save();
    w.text('dropped text longer than a chunk');
    w.restore();
    w.text('!');
    assert.equal(Buffer.concat(w.take()).toString(), 'keep!');
  });
});
