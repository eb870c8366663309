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

/**
 * Request smuggling against berth's HTTP/1.1 engine: every shape that could make berth and the
 * upstream disagree on where a request ends is refused (and the connection closed), and what is
 * accepted reaches the upstream re-framed, as exactly the requests berth parsed.
 */
describe('hardening: request smuggling', { timeout: 120_000 }, () => {
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

  test('refused: 400 (431, 501) and close, nothing forwarded, nothing smuggled', async (t) => {
    const filler = Array.from({ length: 2000 }, (_, i) => `X-F${i}: v\r\n`).join('');
    const cases = [
      {
        desc: 'CL.TE: Content-Length before Transfer-Encoding',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`,
      },
      {
        desc: 'TE.CL: Transfer-Encoding before Content-Length',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
      },
      {
        desc: 'duplicate Content-Length, different values',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 41\r\n\r\nabcGET /smuggled HTTP/1.1\r\n${H}\r\n`,
      },
      {
        desc: 'duplicate Content-Length, same value',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
      },
      {
        desc: 'a second Transfer-Encoding line with another coding',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-encoding: identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'Transfer-Encoding with whitespace before the colon',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`,
      },
      {
        desc: 'obs-fold continuing Transfer-Encoding',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`,
      },
      { desc: 'obs-fold in any header', status: 400, bytes: `GET / HTTP/1.1\r\n${H}X-A: a\r\n\tb\r\n\r\n` },
      { desc: 'bare LF ending the request line', status: 400, bytes: `GET / HTTP/1.1\n${H}\r\n` },
      { desc: 'bare LF ending a header line', status: 400, bytes: `GET / HTTP/1.1\r\nHost: rec.test\nX-A: b\r\n\r\n` },
      {
        desc: 'bare LF after a chunk size',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'bare LF after chunk data',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n`,
      },
      {
        desc: 'chunk size in 0x form',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'negative chunk size',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'chunk size followed by a space',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'overflowing chunk size',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'chunk data longer than its size',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n`,
      },
      {
        desc: 'empty chunk size line',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'Transfer-Encoding on HTTP/1.0',
        status: 400,
        bytes: `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'a coding before chunked (lost when re-framed)',
        status: 501,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      },
      {
        desc: 'too many headers hide a Content-Length',
        status: 431,
        bytes: `POST / HTTP/1.1\r\n${H}${filler}Content-Length: 30\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`,
      },
      {
        desc: 'Content-Length as a trailer',
        status: 400,
        bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 100\r\n\r\n`,
      },
      { desc: 'NUL in a header value', status: 400, bytes: `GET / HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n` },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const before = up.requests().length;
        const r = await exchange(port, c.bytes, { maxMs: 5000 });
        assert.equal(r.status, c.status, r.text.slice(0, 120));
        assert.equal(r.statuses.length, 1, 'one answer only');
        assert.ok(r.closed, 'the connection is closed');
        await assertNothingForwarded(port, 'rec.test', up, before, c.desc);
      });
    }
    await assertRecovered(edge, 'smuggling attempts');
  });

  test('pipelined requests after an error are never processed', async () => {
    const before = up.requests().length;
    const bytes = `GET /first HTTP/1.1\r\n${H}\r\nPOST /bad HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nxyGET /after HTTP/1.1\r\n${H}\r\nGET /later HTTP/1.1\r\n${H}\r\n`;
    const r = await exchange(port, bytes, { maxMs: 5000 });
    assert.deepEqual(r.statuses, [200, 400]);
    assert.ok(r.closed);
    assert.deepEqual(
      up
        .requests()
        .slice(before)
        .map((q) => q.target),
      ['/first'],
    );
  });

  test('accepted: requests inside bodies stay bodies; each request is re-framed on its own', async (t) => {
    const inner = `GET /evil HTTP/1.1\r\n${H}\r\n`;
    const cases = [
      {
        desc: 'a request as chunked data',
        bytes: `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`,
        seen: [['/a', inner, 'chunked']],
      },
      {
        desc: 'a request as Content-Length data, then a real pipelined one',
        bytes: `POST /a HTTP/1.1\r\n${H}Content-Length: ${inner.length}\r\n\r\n${inner}POST /b HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nxyz`,
        seen: [
          ['/a', inner, 'length'],
          ['/b', 'xyz', 'length'],
        ],
      },
      {
        desc: 'leading zeros in Content-Length: the upstream gets the plain number',
        bytes: `POST /z HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\nabc`,
        seen: [['/z', 'abc', 'length']],
      },
      {
        desc: 'trailers that would set forwarding headers are dropped',
        bytes: `POST /t HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-Ip: 6.6.6.6\r\n\r\n`,
        seen: [['/t', 'abc', 'chunked']],
      },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        up.reset();
        const r = await exchange(port, c.bytes, { until: responses(c.seen.length), maxMs: 5000 });
        assert.deepEqual(
          r.statuses,
          c.seen.map(() => 200),
          r.text.slice(0, 200),
        );
        assert.deepEqual(
          bodies(r.text).map((b) => JSON.parse(b).target),
          c.seen.map((s) => s[0]),
        );
        const got = up.requests();
        assert.deepEqual(
          got.map((q) => [q.target, q.body.toString('latin1'), q.framing]),
          c.seen,
        );
        const wire = up.connections.map((x) => x.received().toString('latin1')).join('');
        assert.ok(!wire.includes('6.6.6.6'), 'no trailer reached the upstream');
        for (const q of got)
          if (q.framing === 'length') assert.equal(q.headers['content-length'], String(q.body.length));
      });
    }
  });
});
