import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { needTools } from '../helpers/tools.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.ts';
import {
  assertRecovered,
  exchange,
  freePort,
  responses,
  startBlackHole,
  startEdge,
  waitForRoute,
  waitUntil,
  type Edge,
} from './harness.ts';
import { withTimeout } from '../helpers/with-timeout.ts';

describe('hardening: upstream faults and slow clients', { timeout: 90_000 }, () => {
  let up: RecordingUpstream;
  let stream: RecordingUpstream;
  let edge: Edge;
  let web: number;
  let slow: number;
  let hole: { port: number; close(): void } | undefined;
  let holePort = 0;
  let refusedPort = 0;

  before(async () => {
    up = await startRecordingUpstream();
    // Answers with an endless body, one chunk every 20 ms, until the connection goes away.
    stream = await startRecordingUpstream((_req, conn) => {
      conn.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n');
      const t = setInterval(() => {
        if (conn.socket.destroyed) clearInterval(t);
        else conn.socket.write(Buffer.alloc(16 * 1024, 120));
      }, 20);
      conn.socket.once('close', () => clearInterval(t));
    });
    refusedPort = await freePort();
    try {
      hole = await startBlackHole();
      holePort = hole.port;
    } catch {
      hole = undefined;
      holePort = await freePort();
    }
    edge = await startEdge({
      entrypoints: { web: {}, slow: { transport: { respondingTimeouts: { readTimeout: '2s' } } } },
      dynamic: {
        http: {
          routers: {
            rec: { rule: 'Host(`rec.test`)', service: 'rec' },
            quick: { rule: 'Host(`quick.test`)', service: 'quick' },
            refused: { rule: 'Host(`refused.test`)', service: 'refused' },
            hole: { rule: 'Host(`hole.test`)', service: 'hole' },
            stream: { rule: 'Host(`stream.test`)', service: 'stream' },
          },
          services: {
            rec: { loadBalancer: { servers: [{ url: up.url }] } },
            quick: { loadBalancer: { servers: [{ url: up.url }], serversTransport: 'quick' } },
            refused: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${refusedPort}` }] } },
            hole: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${holePort}` }], serversTransport: 'quick' } },
            stream: { loadBalancer: { servers: [{ url: stream.url }] } },
          },
          serversTransports: {
            quick: { forwardingTimeouts: { dialTimeout: '500ms', responseHeaderTimeout: '500ms' } },
          },
        },
      },
    });
    web = edge.ports.web!;
    slow = edge.ports.slow!;
    await waitForRoute(web, 'rec.test');
  });

  after(async () => {
    const code = await edge?.berth.stop();
    hole?.close();
    await up?.close();
    await stream?.close();
    assert.equal(code, 0);
  });

  const get = (host: string, path = '/', port = web) =>
    exchange(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, {
      until: responses(1),
      maxMs: 10_000,
    });

  test('refused upstream → 502', async () => {
    assert.equal((await get('refused.test')).status, 502);
  });

  test('black-holed upstream → 504 after the dial timeout', async (t) => {
    if (!needTools(t, 'python3')) return;
    assert.ok(hole, 'black hole started');
    assert.equal((await get('hole.test')).status, 504);
  });

  test('silent upstream → 504 after the response-header timeout; the silent socket is not reused', async () => {
    up.reset();
    up.script = 'silent';
    assert.equal((await get('quick.test', '/silent')).status, 504);
    const silent = up.connections.find((c) => c.requests.some((q) => q.target === '/silent'))!;
    await waitUntil(() => silent.closed, 'berth to close the silent upstream connection');
    up.script = 'valid';
    assert.equal((await get('quick.test', '/after')).status, 200);
    assert.equal(silent.requests.length, 1);
  });

  test('an upstream reset mid-response aborts the client response (never a fake complete one)', async (t) => {
    const cases = [
      {
        desc: 'content-length body cut short',
        script: 'reset-mid-body' as const,
        complete: (text: string) => text.length >= text.indexOf('\r\n\r\n') + 4 + 100_000,
      },
      {
        desc: 'chunked body cut short',
        script: ((_req, conn) => {
          conn.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n', () =>
            setTimeout(() => conn.socket.resetAndDestroy(), 50),
          );
        }) as RecordingUpstream['script'],
        complete: (text: string) => text.includes('\r\n0\r\n\r\n'),
      },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        up.script = c.script;
        const r = await exchange(web, `GET /cut HTTP/1.1\r\nHost: rec.test\r\n\r\n`, { maxMs: 10_000 });
        assert.equal(r.status, 200, 'the response had started');
        assert.ok(r.closed, 'client connection closed');
        assert.ok(!c.complete(r.text), 'the client never sees a complete response');
      });
    }
    up.script = 'valid';
    await assertRecovered(edge, 'upstream resets');
  });

  test('client abort mid-upload aborts the upstream request', async () => {
    up.reset();
    const s = connect(web, '127.0.0.1');
    await withTimeout(new Promise<void>((r) => s.once('connect', () => r())), 30_000, '`s` to connect');
    s.write('POST /upload HTTP/1.1\r\nHost: rec.test\r\nContent-Length: 10000000\r\n\r\n');
    s.write(Buffer.alloc(256 * 1024, 97));
    await waitUntil(
      () => up.connections.some((c) => c.received().length > 100_000),
      'the upload to reach the upstream',
    );
    const conn = up.connections.find((c) => c.received().length > 100_000)!;
    s.destroy();
    await waitUntil(() => conn.closed, 'berth to abort the upstream side of the upload');
  });

  test('client abort mid-download aborts the upstream response', async () => {
    stream.reset();
    const s = connect(web, '127.0.0.1');
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
    });
    s.write('GET /big HTTP/1.1\r\nHost: stream.test\r\n\r\n');
    await waitUntil(() => got > 100_000, 'some of the download');
    const conn = stream.connections[0]!;
    s.destroy();
    await waitUntil(() => conn.closed, 'berth to abort the upstream side of the download');
    await assertRecovered(edge, 'client aborts');
  });

  test('slowloris headers → 408 and close (headersTimeout); slow bodies are cut; a normal-speed upload passes', async () => {
    up.reset();
    const parts = [
      'GET / HTTP/1.1\r\n',
      'Host: rec.test\r\n',
      ...Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: v\r\n`),
    ];
    const r = await exchange(slow, parts, { gapMs: 100, maxMs: 15_000 });
    assert.equal(r.status, 408, r.text.slice(0, 100));
    assert.ok(r.closed);
    assert.equal(up.requests().length, 0, 'nothing forwarded');

    const body = [
      'POST /slow-body HTTP/1.1\r\nHost: rec.test\r\nContent-Length: 100\r\n\r\n',
      ...Array.from({ length: 60 }, () => 'x'),
    ];
    const rb = await exchange(slow, body, { gapMs: 100, maxMs: 15_000 });
    assert.ok(rb.closed, 'slow body connection closed');
    assert.ok(rb.status === 408 || rb.status === 0 || rb.status === 502, `slow body answered ${rb.status}`);
    assert.ok(
      !up.requests().some((q) => q.target === '/slow-body'),
      'an incomplete body is never forwarded as complete',
    );

    const big = Buffer.alloc(2 * 1024 * 1024, 98);
    const ok = await exchange(
      slow,
      [`POST /upload HTTP/1.1\r\nHost: rec.test\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`, big],
      { until: responses(1), maxMs: 15_000 },
    );
    assert.equal(ok.status, 200);
    assert.equal(up.requests().find((q) => q.target === '/upload')?.body.length, big.length);
    await assertRecovered(edge, 'slow clients');
  });
});
