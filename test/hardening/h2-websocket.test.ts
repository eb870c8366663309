import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, constants } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.ts';
import { assertRecovered, exchange, responses, startEdge, testPki, waitForRoute, type Edge } from './harness.ts';
import { withTimeout } from '../helpers/with-timeout.ts';

const pki = testPki();

/** One HTTP/2 frame. */
function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Sends raw HTTP/2 bytes over TLS (ALPN h2) and reports whether berth closed the connection. */
function rawH2(port: number, bytes: Buffer[]): Promise<{ closed: boolean; received: number }> {
  return new Promise((resolve) => {
    let received = 0;
    let done = false;
    const s = tlsConnect(
      { host: '127.0.0.1', port, servername: 'h2.test', ALPNProtocols: ['h2'], rejectUnauthorized: false },
      () => {
        for (const b of bytes) {
          if (s.destroyed) break;
          s.write(b);
        }
      },
    );
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ closed, received });
    };
    s.on('data', (d: Buffer) => {
      received += d.length;
    });
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    setTimeout(() => finish(false), 2000);
  });
}

describe('hardening: HTTP/2 floods and WebSocket upgrades', { timeout: 90_000 }, () => {
  let up: RecordingUpstream;
  let edge: Edge;
  let port: number;

  before(async () => {
    up = await startRecordingUpstream();
    const cert = pki.leaf(['h2.test']);
    edge = await startEdge({
      entrypoints: { web: {} },
      dynamic: {
        http: {
          routers: {
            h2: { rule: 'Host(`h2.test`)', service: 'rec', tls: {} },
            plain: { rule: 'Host(`h2.test`)', service: 'rec' },
          },
          services: { rec: { loadBalancer: { servers: [{ url: up.url }], serversTransport: 'short' } } },
          // Pooled upstream connections close after 1 s, so descriptors return to the baseline quickly.
          serversTransports: { short: { forwardingTimeouts: { idleConnTimeout: '1s' } } },
        },
        tls: { certificates: [{ certFile: cert.cert, keyFile: cert.key }] },
      },
    });
    port = edge.ports.web!;
    await waitForRoute(port, 'h2.test');
    await waitForRoute(port, 'h2.test', 200, '/', { servername: 'h2.test' });
  });

  after(async () => {
    const code = await edge?.berth.stop();
    await up?.close();
    assert.equal(code, 0);
  });

  test('maxConcurrentStreams is about 100, and rapid reset of thousands of streams stays bounded', async () => {
    const session = h2connect(`https://127.0.0.1:${port}`, { servername: 'h2.test', rejectUnauthorized: false });
    session.on('error', () => undefined);
    await withTimeout(
      new Promise<void>((r) => session.once('remoteSettings', () => r())),
      30_000,
      'the SETTINGS of `session`',
    );
    assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
    const before = up.requests().length;
    for (let i = 0; i < 2000 && !session.destroyed; i++) {
      const req = session.request({ ':path': `/reset-${i}`, ':authority': 'h2.test' });
      req.on('error', () => undefined);
      req.close(constants.NGHTTP2_CANCEL);
    }
    await new Promise((r) => setTimeout(r, 500));
    session.destroy();
    assert.ok(up.requests().length - before <= 2000);
    await assertRecovered(edge, 'rapid reset');
  });

  test('PING, SETTINGS and CONTINUATION floods: berth closes or absorbs them, and stays bounded', async (t) => {
    const settings = frame(0x4, 0, 0);
    const cases = [
      {
        desc: 'PING flood',
        bytes: [PREFACE, settings, ...Array.from({ length: 5000 }, () => frame(0x6, 0, 0, Buffer.alloc(8)))],
      },
      {
        desc: 'SETTINGS flood',
        bytes: [PREFACE, ...Array.from({ length: 5000 }, () => frame(0x4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100])))],
      },
      {
        desc: 'CONTINUATION flood',
        bytes: [
          PREFACE,
          settings,
          frame(0x1, 0x4 & 0, 1, Buffer.from([0x82, 0x87, 0x84])),
          ...Array.from({ length: 5000 }, (_, i) =>
            frame(0x9, 0, 1, Buffer.from([0x40, 0x03, 0x78, 0x2d, 0x61 + (i % 26), 0x01, 0x76])),
          ),
        ],
      },
      {
        desc: 'empty DATA frames on a closed stream',
        bytes: [PREFACE, settings, ...Array.from({ length: 5000 }, () => frame(0x0, 0, 3))],
      },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const r = await rawH2(port, c.bytes);
        t.diagnostic(`${c.desc}: closed=${r.closed} received=${r.received}`);
        await assertRecovered(edge, c.desc);
      });
    }
  });

  test('an upgrade refused with 403 leaves no raw tunnel: later bytes are parsed as HTTP or dropped', async () => {
    up.reset();
    up.script = 'refuse-upgrade';
    const r = await exchange(
      port,
      [
        'GET /ws HTTP/1.1\r\nHost: h2.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        'GET /internal HTTP/1.1\r\nHost: internal.test\r\n\r\n',
      ],
      { gapMs: 300, maxMs: 3000 },
    );
    up.script = 'valid';
    assert.equal(r.status, 403);
    await new Promise((res) => setTimeout(res, 300));
    const hosts = up.requests().map((q) => q.headers.host);
    assert.ok(
      !hosts.includes('internal.test'),
      `bytes after a refused upgrade were tunnelled raw: ${JSON.stringify(hosts)}`,
    );
    for (const q of up.requests())
      assert.ok(q.headers['x-forwarded-for'], "every upstream request went through berth's HTTP path");
    await assertRecovered(edge, 'refused upgrade');
  });

  test('Upgrade: h2c (and other non-WebSocket tokens) is never forwarded', async (t) => {
    const cases = [
      {
        desc: 'h2c',
        head: 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n',
      },
      { desc: 'other token', head: 'Connection: Upgrade\r\nUpgrade: tls/1.2\r\n' },
      { desc: 'h2c without Connection', head: 'Upgrade: h2c\r\n' },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        up.reset();
        const r = await exchange(port, `GET /up HTTP/1.1\r\nHost: h2.test\r\n${c.head}\r\n`, { until: responses(1) });
        assert.equal(r.status, 200);
        const q = up.requests()[0]!;
        assert.equal(q.headers.upgrade, undefined);
        assert.equal(q.headers['http2-settings'], undefined);
        assert.doesNotMatch(q.headers.connection ?? '', /upgrade/i);
      });
    }
  });
});
