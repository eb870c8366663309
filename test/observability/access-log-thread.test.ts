import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { Capture, captureHeaders, compileFormatter, formatToString, type FormatSettings } from '../../src/observability/access-log-lines.ts';
import { RecordReader, RecordWriter } from '../../src/observability/access-log-record.ts';
import { ThreadedOutput, type ThreadData, type ThreadedOutputOptions } from '../../src/observability/access-log-thread.ts';
import { CORE_FIELDS, type CoreField, type FieldMode } from '../../src/observability/access-log-format.ts';
import { LineWriter, openLogFile } from '../../src/observability/line-writer.ts';
import { createAccessLog, type AccessLog } from '../../src/observability/access-log.ts';
import { BerthError } from '../../src/lib/errors.ts';

const keepAll = Object.fromEntries(CORE_FIELDS.map((f) => [f, 'keep'])) as Record<CoreField, FieldMode>;
const jsonAll: FormatSettings = { format: 'json', modes: keepAll, headerDefault: 'keep', headerNames: new Map([['authorization', 'redact']]) };
const common: FormatSettings = { format: 'common', modes: keepAll, headerDefault: 'drop', headerNames: new Map() };

/** A capture for line `i`, with the values that change from line to line changing. */
function sample(i: number, over: Partial<Capture> = {}): Capture {
  const c = new Capture();
  Object.assign(c, {
    start: 5000 + i * 0.37, end: 5000 + i * 0.37 + 0.25 + (i % 7) * 0.001, entrypoint: i % 5 === 0 ? 'websecure' : 'web', clientIp: `127.0.0.${1 + (i % 3)}`,
    remote: '127.0.0.1', remotePort: 30000 + (i % 100), username: '-', method: i % 4 === 0 ? 'POST' : 'GET', url: `/item/${i}?q=${i * 3}`,
    httpVersion: '1.1', scheme: 'http', status: i % 11 === 0 ? 404 : 200, bytes: 100 + i, count: i + 1, retries: i % 13 === 0 ? 1 : 0,
    router: `r${i % 9}@docker`, service: `s${i % 9}@docker`, upstream: i % 9 === 0 ? undefined : `http://127.0.0.9:${8000 + (i % 9)}`, originNs: -1,
  }, over);
  captureHeaders(c, { host: `app${i % 4}.example.com`, 'user-agent': 'bench/1', 'content-length': String(i % 50), authorization: 'secret' }, true);
  c.resHeaders = { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': 100 + i };
  return c;
}

/** Encodes the captures, decodes them, and returns the decoded lines' text. */
function roundTrip(settings: FormatSettings, caps: readonly Capture[], w = new RecordWriter()): string {
  const format = compileFormatter(settings);
  for (const c of caps) w.write(c);
  const reader = new RecordReader();
  const out: string[] = [];
  for (const chunk of w.take()) reader.read(chunk, (c) => out.push(formatToString(format, [c])));
  return out.join('');
}

describe('access log records (request side → log thread)', () => {
  test('a decoded capture formats to the same line as the original, JSON and CLF', () => {
    const caps = Array.from({ length: 300 }, (_, i) => sample(i));
    for (const s of [jsonAll, common]) assert.equal(roundTrip(s, caps), formatToString(compileFormatter(s), caps));
  });

  test('records survive tiny chunks (records move to new chunks) and a tiny string table (it starts over)', () => {
    const caps = Array.from({ length: 200 }, (_, i) => sample(i, { router: `router-${i}@file`, url: `/${'x'.repeat(i * 7)}` }));
    const w = new RecordWriter(64, 16);
    assert.equal(roundTrip(jsonAll, caps, w), formatToString(compileFormatter(jsonAll), caps));
  });

  test('every kind of value comes back as it went: non-ASCII, escapes, absent fields, numbers at their limits', () => {
    const str = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', '"\\\n\t', '日本語/ü', '\u{1F600}', 'a'.repeat(300)));
    const opt = fc.option(str, { nil: undefined });
    fc.assert(fc.property(
      fc.record({ ep: str, ip: str, url: str, host: str, ua: opt, ref: opt, cl: opt, router: opt, service: opt, upstream: opt, user: str, tls: opt,
        status: fc.integer({ min: 0, max: 999 }), bytes: fc.oneof(fc.nat(), fc.constant(2 ** 40 + 3)), port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
        origin: fc.oneof(fc.constant(-1), fc.nat()), hdr: fc.dictionary(fc.string({ minLength: 1 }), fc.oneof(str, fc.array(str, { maxLength: 3 }))) }),
      (v) => {
        const c = sample(1, { entrypoint: v.ep, clientIp: v.ip, url: v.url, router: v.router, service: v.service, upstream: v.upstream, username: v.user,
          tlsVersion: v.tls, tlsCipher: v.tls, status: v.status, bytes: v.bytes, remotePort: v.port, originNs: v.origin });
        c.host = v.host; c.userAgent = v.ua; c.referer = v.ref; c.contentLength = v.cl;
        c.headers = v.hdr as Record<string, string | string[]>;
        c.resHeaders = v.hdr;
        for (const s of [jsonAll, common]) assert.equal(roundTrip(s, [c], new RecordWriter(128, 8)), formatToString(compileFormatter(s), [c]));
      }), { numRuns: 300 });
  });

  test('a record that cannot be decoded is an error naming what is wrong, not a crash or a wrong line', () => {
    const reader = new RecordReader();
    assert.throws(() => reader.read(new Uint8Array([9, 0, 0]), () => {}), /unknown type 9/);
    const w = new RecordWriter();
    w.write(sample(1));
    const [chunk] = w.take();
    // Without its string definitions (a lost batch) the references point nowhere.
    const cut = chunk!.subarray(chunk!.indexOf(1, 1));
    assert.throws(() => new RecordReader().read(cut, () => {}));
  });
});

/** A log file in a temp directory and the output writing it; `fn` pushes, the file's text comes back. */
async function withFile(opts: ThreadedOutputOptions, fn: (out: ThreadedOutput) => Promise<void> | void, settings = jsonAll): Promise<{ text: string; errors: string[]; out: ThreadedOutput }> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-alog-'));
  const file = join(dir, 'access.log');
  const errors: string[] = [];
  try {
    const fd = openLogFile(file);
    const data: ThreadData = { fd, settings: { ...settings, origin: performance.timeOrigin }, bufferLines: 0, flushMs: 1000, maxPendingBytes: 64 * 1024 * 1024 };
    const onError = (err: Error): void => { errors.push(err.message); };
    const out = new ThreadedOutput(data, { onError, ...opts }, (sink) => new LineWriter<Capture>(sink, { bufferLines: 0, flushMs: 1000, maxPendingBytes: 64 * 1024 * 1024, onError }, compileFormatter(settings)));
    await fn(out);
    await out.close();
    return { text: readFileSync(file, 'utf8'), errors, out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const expected = (caps: readonly Capture[], settings = jsonAll): string => formatToString(compileFormatter(settings), caps);

describe('access log thread', () => {
  test('lines reach the file in order, byte for byte what the request thread would have written', async () => {
    const caps = Array.from({ length: 5000 }, (_, i) => sample(i));
    const { text, errors } = await withFile({}, async (out) => {
      for (let i = 0; i < 2500; i++) out.push(caps[i]!);
      await out.drain();
      for (let i = 2500; i < caps.length; i++) out.push(caps[i]!);
    });
    assert.deepEqual(errors, []);
    assert.equal(text, expected(caps));
  });

  test('drain resolves once the lines pushed before it are in the file', async () => {
    await withFile({}, async (out) => {
      out.push(sample(0));
      await out.drain();
    });
  });

  test('a thread that fails mid-stream: its unacknowledged lines and later ones are written here, none lost', async () => {
    const caps = Array.from({ length: 3000 }, (_, i) => sample(i));
    const { text, errors } = await withFile({}, async (out) => {
      for (let i = 0; i < 1000; i++) out.push(caps[i]!);
      await out.drain();
      for (let i = 1000; i < 2000; i++) out.push(caps[i]!);
      out.drain().catch(() => {});
      out.failThreadForTest();
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 2000; i < 3000; i++) out.push(caps[i]!);
      await out.drain();
    });
    assert.ok(errors.some((e) => /access log thread stopped/.test(e)), errors.join('\n'));
    const lines = text.trim().split('\n');
    const counts = lines.map((l) => (JSON.parse(l) as { RequestCount: number }).RequestCount);
    // Every line at least once and in order; a batch written just before the failure may repeat.
    assert.deepEqual([...new Set(counts)], caps.map((c) => c.count));
    assert.ok(lines.length <= 4000);
  });

  test('a thread that cannot start: every line is written from the request thread, and the failure reported', async () => {
    const caps = Array.from({ length: 100 }, (_, i) => sample(i));
    const { text, errors } = await withFile({ startWorker: () => { throw new Error('no threads here'); } }, (out) => {
      for (const c of caps) out.push(c);
    });
    assert.equal(text, expected(caps));
    assert.match(errors.join('\n'), /cannot start: no threads here/);
  });

  test('a thread that dies while starting: the lines sent to it are written from the request thread', async () => {
    const caps = Array.from({ length: 500 }, (_, i) => sample(i));
    const { text, errors } = await withFile({ startWorker: () => new Worker('throw new Error("broken thread")', { eval: true }) }, async (out) => {
      for (const c of caps) out.push(c);
      await out.drain();
    });
    assert.equal(text, expected(caps));
    assert.match(errors.join('\n'), /broken thread/);
  });

  test('a thread that stops acknowledging (a stuck disk): lines past the bound are dropped and counted, memory stays bounded', async () => {
    // Takes lines and never acknowledges them; exits when asked to close.
    const silent = (): Worker => new Worker(`require('node:worker_threads').parentPort.on('message', (m) => { if (m.t === 'close') process.exit(0); });`, { eval: true });
    const dir = mkdtempSync(join(tmpdir(), 'berth-alog-'));
    try {
      const fd = openLogFile(join(dir, 'a.log'));
      const data: ThreadData = { fd, settings: { ...jsonAll, origin: performance.timeOrigin }, bufferLines: 0, flushMs: 1000, maxPendingBytes: 64 * 1024 };
      const errors: string[] = [];
      const out = new ThreadedOutput(data, { startWorker: silent, sendDelayMs: 1, onError: (e) => errors.push(e.message) }, (sink) => new LineWriter<Capture>(sink, { bufferLines: 0, flushMs: 1000, maxPendingBytes: 1 << 20 }, compileFormatter(jsonAll)));
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 200; i++) out.push(sample(i));
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(out.dropped > 0, 'lines past the bound are dropped');
      assert.equal(errors.filter((e) => /lines are dropped until it catches up/.test(e)).length, 1, 'reported once per streak');
      await out.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('access log rotation (reopen)', () => {
  for (const thread of [true, false]) {
    test(`${thread ? 'log thread' : 'request thread'}: after a rename and reopen, later lines go to the new file and none is lost`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'berth-alog-'));
      const file = join(dir, 'access.log');
      const rotated = join(dir, 'access.log.1');
      const errors: string[] = [];
      const log = createAccessLog({ filePath: file, format: 'json' }, { thread, onError: (e) => errors.push(e.message) })!;
      try {
        for (let i = 0; i < 300; i++) log.onResponse(...fakeRequest(i));
        renameSync(file, rotated);
        // Lines logged between the rename and the reopen still land in the rotated file.
        for (let i = 300; i < 400; i++) log.onResponse(...fakeRequest(i));
        log.reopen();
        for (let i = 400; i < 700; i++) log.onResponse(...fakeRequest(i));
        await log.flush();
        const paths = (p: string): string[] => readFileSync(p, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { RequestPath: string }).RequestPath);
        const before = paths(rotated);
        const after = paths(file);
        assert.deepEqual([...before, ...after], Array.from({ length: 700 }, (_, i) => `/r/${i}`));
        assert.ok(after.length >= 300, `${after.length} lines in the new file`);
        assert.deepEqual(errors, []);
      } finally {
        await log.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test(`${thread ? 'log thread' : 'request thread'}: a reopen that cannot open the file throws a typed error; lines keep going to the old file`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'berth-alog-'));
      const file = join(dir, 'access.log');
      const log = createAccessLog({ filePath: file, format: 'json' }, { thread })!;
      try {
        log.onResponse(...fakeRequest(0));
        renameSync(file, join(dir, 'old.log'));
        mkdirSync(file);
        assert.throws(() => log.reopen(), (err: unknown) => err instanceof BerthError && /cannot open/.test(err.message));
        log.onResponse(...fakeRequest(1));
        await log.flush();
        assert.equal(readFileSync(join(dir, 'old.log'), 'utf8').trim().split('\n').length, 2);
      } finally {
        await log.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/** The arguments of `onResponse` for a plain proxied GET of `/r/i`. */
function fakeRequest(i: number): Parameters<AccessLog['onResponse']> {
  const req = { method: 'GET', url: `/r/${i}`, httpVersion: '1.1', headers: { host: 'a.test' }, socket: { remoteAddress: '127.0.0.1', remotePort: 4000 } };
  const res = { statusCode: 200, getHeaders: () => ({}) };
  const ctx = { entrypoint: 'web', scheme: 'http', remoteIp: '127.0.0.1', clientIp: '127.0.0.1', trustedPeer: false, host: 'a.test', path: `/r/${i}`, start: performance.now(), router: 'r@file', service: 's@file', upstream: 'http://127.0.0.9:1' };
  return [req as never, res as never, ctx as never];
}
