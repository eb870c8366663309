import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connect,
  createServer as createH2Server,
  type ClientHttp2Session,
  type Http2Server,
  type IncomingHttpHeaders,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { serveStream } from '../../src/engine/h2-adapter.ts';
import type { RequestContext } from '../../src/engine/message.ts';
import { ProxyExchange } from '../../src/engine/proxy-exchange.ts';
import { UpstreamPool } from '../../src/engine/upstream-pool.ts';
import { upstreamTarget } from '../../src/engine/upstream-target.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.ts';
import { POOL } from './harness.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

/** One HTTP/2 request; resolves with the response head and body. */
function h2(
  session: ClientHttp2Session,
  headers: Record<string, string | string[]>,
  body?: string,
): Promise<{ head: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request(headers, { endStream: body === undefined });
    let head: IncomingHttpHeaders = {};
    let text = '';
    s.on('response', (h) => {
      head = h;
    });
    s.on('data', (d: Buffer) => {
      text += d.toString();
    });
    s.on('end', () => resolve({ head, body: text }));
    idleTimeout(s, 30_000, 'an HTTP/2 answer');
    s.on('error', reject);
    if (body !== undefined) s.end(body);
  });
}

describe('HTTP/2 adapter: streams reach the same handler and the upstream pool', () => {
  let up: RecordingUpstream;
  let server: Http2Server;
  let session: ClientHttp2Session;
  const pool = new UpstreamPool(POOL);

  before(async () => {
    up = await startRecordingUpstream((req, conn) => {
      const body = JSON.stringify({ target: req.target, headers: req.headers, body: req.body.toString() });
      conn.socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: keep-alive\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${req.method === 'HEAD' ? '' : body}`,
      );
    });
    server = createH2Server();
    server.on('stream', (stream, headers, _flags, rawHeaders: string[]) => {
      serveStream(stream, headers, rawHeaders, stream.session!.socket as Socket, {
        request(req, res) {
          const ctx: RequestContext = {
            entrypoint: 'h2',
            scheme: 'https',
            remoteIp: req.remoteAddress,
            clientIp: req.remoteAddress,
            trustedPeer: false,
            host: '',
            path: req.url,
            start: 0,
          };
          req.ctx = ctx;
          new ProxyExchange(req, res, ctx, upstreamTarget(up.url, new URL(up.url)), pool, true, undefined).start();
        },
        done() {
          /* nothing logged */
        },
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(async () => {
    session.close();
    server.close();
    pool.close();
    await up.close();
  });

  test('pseudo-headers become the request line and Host; split cookies are joined; the body is forwarded', async () => {
    const r = await h2(
      session,
      {
        ':method': 'POST',
        ':path': '/submit?x=1',
        ':authority': 'h2.test',
        cookie: ['a=1', 'b=2'],
        'content-type': 'text/plain',
      },
      'hello h2',
    );
    assert.equal(r.head[':status'], 200);
    assert.deepEqual(r.head['set-cookie'], ['a=1', 'b=2']);
    assert.equal(r.head.connection, undefined, 'no connection-specific header over HTTP/2');
    const seen = JSON.parse(r.body) as { target: string; headers: Record<string, string>; body: string };
    assert.equal(seen.target, '/submit?x=1');
    assert.equal(seen.headers.host, 'h2.test');
    assert.equal(seen.headers.cookie, 'a=1; b=2');
    assert.equal(seen.body, 'hello h2');
    assert.equal(
      up.requests().at(-1)?.framing,
      'chunked',
      'a body of unknown length is chunked to the HTTP/1.1 upstream',
    );
  });

  test('HEAD answers without a body; CONNECT is refused', async () => {
    const head = await h2(session, { ':method': 'HEAD', ':path': '/h', ':authority': 'h2.test' });
    assert.equal(head.head[':status'], 200);
    assert.equal(head.body, '');
    const c = await new Promise<number>((resolve) => {
      const s = session.request({ ':method': 'CONNECT', ':authority': 'h2.test:443' }, { endStream: false });
      s.on('response', (h) => {
        resolve(Number(h[':status']));
        s.close();
      });
      s.on('error', () => resolve(0));
    });
    assert.equal(c, 405);
  });
});
