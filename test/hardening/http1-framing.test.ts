import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.ts';
import {
  assertNothingForwarded,
  assertRecovered,
  bodies,
  exchange,
  responses,
  startEdge,
  waitForRoute,
  type Edge,
} from './harness.ts';

const H = 'Host: rec.test\r\n';

describe('hardening: HTTP/1 framing', { timeout: 90_000 }, () => {
  let up: RecordingUpstream;
  let edge: Edge;
  let port: number;

  before(async () => {
    up = await startRecordingUpstream();
    edge = await startEdge({
      entrypoints: { web: {} },
      dynamic: {
        http: {
          routers: { rec: { rule: 'Host(`rec.test`)', service: 'rec' } },
          services: { rec: { loadBalancer: { servers: [{ url: up.url }] } } },
        },
      },
    });
    port = edge.ports.web!;
    await waitForRoute(port, 'rec.test');
  });

  after(async () => {
    const code = await edge?.berth.stop();
    await up?.close();
    assert.equal(code, 0);
  });

  test('ambiguous framing and malformed heads: 400 (or 501/505), connection closed, nothing upstream', async (t) => {
    const filler = Array.from({ length: 3000 }, (_, i) => `X-F${i}: v\r\n`).join('');
    const cases = [
      {
        desc: 'Content-Length and Transfer-Encoding',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`,
      },
      {
        desc: 'duplicate Content-Length (equal values)',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
      },
      { desc: 'Content-Length list', status: 400, bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello` },
      {
        desc: 'Content-Length with sign',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`,
      },
      { desc: 'negative Content-Length', status: 400, bytes: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\nhello` },
      { desc: 'hex Content-Length', status: 400, bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello` },
      {
        desc: 'overflowing Content-Length',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\nhello`,
      },
      {
        desc: 'Transfer-Encoding: xchunked',
        status: 501,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      },
      {
        desc: 'Transfer-Encoding: chunked, identity',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      },
      {
        desc: 'Transfer-Encoding with space before colon',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      },
      {
        desc: 'Transfer-Encoding with vertical tab',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\x0bchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      },
      {
        desc: 'duplicate Transfer-Encoding',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      },
      {
        desc: 'Transfer-Encoding: gzip, chunked (coding lost by re-framing)',
        status: 501,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      },
      {
        desc: 'chunk size overflow',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nhello\r\n0\r\n\r\n`,
      },
      { desc: 'obs-fold', status: 400, bytes: `GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n` },
      { desc: 'bare LF line endings', status: 400, bytes: `GET / HTTP/1.1\nHost: rec.test\n\n` },
      { desc: 'bare LF inside the head', status: 400, bytes: `GET / HTTP/1.1\r\nHost: rec.test\nX: y\r\n\r\n` },
      { desc: 'bare CR inside the head', status: 400, bytes: `GET / HTTP/1.1\r\nHost: rec.test\rX: y\r\n\r\n` },
      { desc: 'HTTP/2.0 request line on HTTP/1', status: 505, bytes: `GET / HTTP/2.0\r\n${H}\r\n` },
      { desc: 'HTTP/0.9 version on HTTP/1', status: 505, bytes: `GET / HTTP/0.9\r\n${H}\r\n` },
      { desc: 'HTTP/0.9 request line (no version)', status: 505, bytes: `GET /\r\n\r\n` },
      { desc: 'HTTP/1.2', status: 400, bytes: `GET / HTTP/1.2\r\n${H}\r\n` },
      {
        desc: 'Transfer-Encoding on HTTP/1.0',
        status: 400,
        bytes: `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      },
      {
        desc: 'header-count truncation: 3000 fillers before Content-Length',
        status: 431,
        bytes: `POST /truncated HTTP/1.1\r\n${H}${filler}Content-Length: 40\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: rec.test\r\n\r\n`,
      },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const before = up.requests().length;
        const r = await exchange(port, c.bytes, { maxMs: 5000 });
        assert.equal(r.status, c.status, r.text.slice(0, 120));
        assert.equal(r.statuses.length, 1, 'exactly one answer');
        assert.ok(r.closed, 'berth closes the connection after a framing error');
        await assertNothingForwarded(port, 'rec.test', up, before, c.desc);
      });
    }
    await assertRecovered(edge, 'malformed requests');
  });

  test('pipelined requests stay in order and in sync; a framing error mid-pipeline closes after the good ones', async () => {
    up.reset();
    const three =
      [1, 2, 3].map((i) => `GET /p${i} HTTP/1.1\r\n${H}\r\n`).join('') +
      `POST /p4 HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabcGET /p5 HTTP/1.1\r\n${H}\r\n`;
    const r = await exchange(port, three, { until: responses(5), maxMs: 5000 });
    assert.deepEqual(r.statuses, [200, 200, 200, 200, 200]);
    assert.deepEqual(
      bodies(r.text).map((b) => JSON.parse(b).target),
      ['/p1', '/p2', '/p3', '/p4', '/p5'],
    );
    assert.equal(
      up
        .requests()
        .find((q) => q.target === '/p4')
        ?.body.toString(),
      'abc',
    );

    const before = up.requests().length;
    const bad = `GET /ok HTTP/1.1\r\n${H}\r\nPOST /bad HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nxxGET /after HTTP/1.1\r\n${H}\r\n`;
    const r2 = await exchange(port, bad, { maxMs: 5000 });
    assert.equal(r2.statuses[0], 200);
    assert.equal(r2.statuses[1], 400);
    assert.equal(r2.statuses.length, 2, 'nothing answered after the framing error');
    assert.ok(r2.closed);
    assert.deepEqual(
      up
        .requests()
        .slice(before)
        .map((q) => q.target),
      ['/ok'],
    );
    await assertRecovered(edge, 'pipelining');
  });

  test('GET and HEAD with a body are forwarded with it, never without it', async () => {
    for (const method of ['GET', 'HEAD']) {
      const before = up.requests().length;
      const r = await exchange(
        port,
        `${method} /with-body HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello${method} /next HTTP/1.1\r\n${H}\r\n`,
        { until: method === 'GET' ? responses(2) : (t) => (t.match(/HTTP\/1\.1 200/g) ?? []).length >= 2, maxMs: 5000 },
      );
      assert.deepEqual(r.statuses, [200, 200], r.text.slice(0, 300));
      // The two may reach the upstream on two connections in either order; each with its own body.
      const got = up
        .requests()
        .slice(before)
        .map((q) => [q.method, q.target, q.body.toString()])
        .sort((a, b) => a[1]!.localeCompare(b[1]!));
      assert.deepEqual(got, [
        [method, '/next', ''],
        [method, '/with-body', 'hello'],
      ]);
    }
  });

  test('bodies are re-framed: chunk extensions, trailers and Transfer-Encoding spelling never reach the upstream verbatim', async () => {
    const cases = [
      {
        desc: 'chunk extension and trailer',
        te: 'chunked',
        chunks: '5;ext="x\\"y"\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
      },
      { desc: 'capitalised coding', te: 'Chunked', chunks: '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n' },
      { desc: 'tab before the value', te: '\tchunked', chunks: '0005\r\nhello\r\n6\r\n world\r\n0\r\n\r\n' },
    ];
    for (const c of cases) {
      up.reset();
      const r = await exchange(port, `POST /reframe HTTP/1.1\r\n${H}Transfer-Encoding:${c.te}\r\n\r\n${c.chunks}`, {
        until: responses(1),
        maxMs: 5000,
      });
      assert.equal(r.status, 200, c.desc);
      const q = up.requests()[0]!;
      assert.equal(q.body.toString(), 'hello world', c.desc);
      const wire = up.connections.map((x) => x.received().toString('latin1')).join('');
      assert.ok(!wire.includes('ext='), `${c.desc}: chunk extension forwarded`);
      assert.ok(!wire.includes('X-Trailer'), `${c.desc}: trailer forwarded`);
      assert.ok(!/Transfer-Encoding:\s*(Chunked|\tchunked)/.test(wire), `${c.desc}: Transfer-Encoding copied verbatim`);
      for (const h of q.rawHeaders)
        assert.ok(
          !/^transfer-encoding/i.test(h) || h === 'transfer-encoding: chunked' || h === 'Transfer-Encoding: chunked',
          `${c.desc}: ${h}`,
        );
    }
  });
});
