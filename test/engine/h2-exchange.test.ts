import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  connect,
  constants,
  createServer as createH2Server,
  type ClientHttp2Session,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { serveStream } from '../../src/engine/h2-adapter.ts';
import type { ProxyRequest, RequestContext } from '../../src/engine/message.ts';
import type { RequestHandler } from '../../src/engine/request-handler.ts';
import type { ProxyResponse } from '../../src/engine/response.ts';
import { UpstreamPool } from '../../src/engine/upstream-pool.ts';
import { forward, upstreamTarget, type ForwardFailure } from '../../src/http/forwarder.ts';
import { stripHopByHop } from '../../src/http/hop-by-hop.ts';
import { answers, POOL, raw, startEngine, type Engine } from './harness.ts';

interface Answer {
  head: IncomingHttpHeaders;
  endedWithHead: boolean;
  body: Buffer;
  trailers: IncomingHttpHeaders | undefined;
  error: string | undefined;
}

/** One HTTP/2 request through `session`; resolves when the stream closed, whatever happened. */
function h2(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: Buffer | string,
  trailers?: Record<string, string>,
): Promise<Answer> {
  return new Promise((resolve) => {
    const s = session.request(headers, { endStream: body === undefined, waitForTrailers: trailers !== undefined });
    const a: Answer = { head: {}, endedWithHead: false, body: Buffer.alloc(0), trailers: undefined, error: undefined };
    const chunks: Buffer[] = [];
    s.on('response', (h, flags) => {
      a.head = h;
      a.endedWithHead = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('trailers', (t) => {
      a.trailers = t;
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      a.error = e.code ?? e.message;
    });
    s.on('wantTrailers', () => s.sendTrailers(trailers ?? {}));
    s.on('close', () => {
      a.body = Buffer.concat(chunks);
      resolve(a);
    });
    if (body !== undefined) s.end(body);
  });
}

/** The request handler of a router: hop-by-hop headers stripped, then forwarded to `url()`. */
function forwarding(
  url: () => string,
  pool: UpstreamPool,
  failures: ForwardFailure[],
): (req: ProxyRequest, res: ProxyResponse) => void {
  return (req, res) => {
    const ctx: RequestContext = {
      entrypoint: 'test',
      scheme: 'https',
      remoteIp: req.remoteAddress,
      clientIp: req.remoteAddress,
      trustedPeer: false,
      host: '',
      path: req.url,
      start: 0,
    };
    req.ctx = ctx;
    stripHopByHop(req.headers, false);
    const u = url();
    forward(req, res, ctx, upstreamTarget(u, new URL(u)), pool, true, (k) => failures.push(k));
  };
}

describe('h2c upstreams: requests as streams of one kept HTTP/2 session per server', () => {
  let upstream: Http2Server;
  let upstreamUrl: string;
  let sessions = 0;
  const closedSessions: (() => void)[] = [];
  const seen: { headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders | undefined }[] = [];
  let front: Http2Server;
  let session: ClientHttp2Session;
  let h1: Engine;
  const pool = new UpstreamPool({ ...POOL, responseHeaderTimeoutMs: 2000 });
  const failures: ForwardFailure[] = [];
  let target = (): string => upstreamUrl;

  before(async () => {
    upstream = createH2Server();
    upstream.on('session', (s) => {
      sessions++;
      s.once('close', () => closedSessions.shift()?.());
    });
    upstream.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const entry: (typeof seen)[number] = { headers, trailers: undefined };
      seen.push(entry);
      const path = String(headers[':path']).split('?')[0]!;
      const chunks: Buffer[] = [];
      stream.on('trailers', (t) => {
        entry.trailers = t;
      });
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('error', () => undefined);
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        if (path.endsWith('/trailers-only')) {
          stream.respond(
            { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not found' },
            { endStream: true },
          );
          return;
        }
        if (path.endsWith('/silent')) return;
        if (path.endsWith('/reset')) {
          stream.respond({ ':status': 200 });
          stream.write('partial');
          stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          return;
        }
        stream.respond(
          { ':status': 200, 'content-type': 'application/octet-stream', 'x-upstream': 'h2' },
          { waitForTrailers: true },
        );
        stream.on('wantTrailers', () =>
          stream.sendTrailers({ 'grpc-status': '0', 'x-digest': createHash('sha256').update(body).digest('hex') }),
        );
        stream.end(path.endsWith('/echo') ? body : `path=${path}`);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `h2c://127.0.0.1:${(upstream.address() as AddressInfo).port}/base`;

    const handler: RequestHandler = {
      request: forwarding(() => target(), pool, failures),
      done() {
        /* nothing logged */
      },
    };
    front = createH2Server();
    front.on('stream', (stream, headers, _flags, rawHeaders: string[]) =>
      serveStream(stream, headers, rawHeaders, stream.session!.socket as Socket, handler),
    );
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    session = connect(`http://127.0.0.1:${(front.address() as AddressInfo).port}`);
    h1 = await startEngine(handler.request);
  });

  after(async () => {
    session.close();
    front.close();
    pool.close();
    upstream.close();
    await h1.close();
  });

  test('the head, a body and trailers both ways pass through; every request shares one session', async () => {
    const before = sessions;
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const answers: Answer[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push(
        await h2(
          session,
          { ':method': 'POST', ':path': `/echo?n=${i}`, ':authority': 'grpc.test', te: 'trailers', 'x-client': 'yes' },
          body,
          { 'x-request-trailer': `t${i}` },
        ),
      );
    }
    for (const [i, a] of answers.entries()) {
      assert.equal(a.error, undefined);
      assert.equal(a.head[':status'], 200);
      assert.equal(a.head['x-upstream'], 'h2');
      assert.equal(a.body.length, body.length, 'the whole body came back (flow control both ways)');
      assert.equal(a.trailers?.['grpc-status'], '0');
      assert.equal(a.trailers?.['x-digest'], createHash('sha256').update(body).digest('hex'));
      const s = seen.at(-3 + i)!;
      assert.equal(s.headers[':path'], `/base/echo?n=${i}`, 'the server URL path prefixes the request');
      assert.equal(s.headers[':authority'], 'grpc.test', 'the Host passed on as :authority');
      assert.equal(s.headers.te, 'trailers');
      assert.equal(s.headers['x-client'], 'yes');
      assert.equal(s.trailers?.['x-request-trailer'], `t${i}`);
    }
    assert.ok(sessions - before <= 1, `one session to the server (${sessions - before} dialled)`);
  });

  test('a response that ends with its head ends the client stream with it (gRPC trailers-only)', async () => {
    const a = await h2(session, { ':method': 'POST', ':path': '/trailers-only', ':authority': 'grpc.test' }, 'x');
    assert.equal(a.head['grpc-status'], '5');
    assert.equal(a.head['grpc-message'], 'not found');
    assert.equal(a.endedWithHead, true);
  });

  test('an HTTP/1.1 client gets the trailers in the chunked body', async () => {
    const seen1 = await raw(h1.port, 'GET /plain HTTP/1.1\r\nHost: grpc.test\r\nTE: trailers\r\n\r\n', answers(1));
    assert.equal(seen1.statuses[0], 200);
    assert.match(seen1.text, /transfer-encoding: chunked/i);
    assert.match(seen1.text, /\r\n0\r\ngrpc-status: 0\r\nx-digest: [0-9a-f]{64}\r\n\r\n$/);
    assert.match(seen1.text, /path=\/base\/plain/);
  });

  test('a server that resets the stream after its head aborts the client stream', async () => {
    const a = await h2(session, { ':method': 'GET', ':path': '/reset', ':authority': 'grpc.test' });
    assert.equal(a.head[':status'], 200);
    assert.notEqual(a.error, undefined, 'the client saw its stream reset');
  });

  test('no answer within responseHeaderTimeout: 504; a refused connection: 502', async () => {
    failures.length = 0;
    const slow = await h2(session, { ':method': 'GET', ':path': '/silent', ':authority': 'grpc.test' });
    assert.equal(slow.head[':status'], 504);
    const closed = createNetServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    target = () => `h2c://127.0.0.1:${port}`;
    try {
      const refused = await h2(session, { ':method': 'GET', ':path': '/', ':authority': 'grpc.test' });
      assert.equal(refused.head[':status'], 502);
    } finally {
      target = () => upstreamUrl;
    }
    assert.deepEqual(failures, ['timeout', 'refused']);
  });

  test('an idle session closes after idleConnTimeout, and the next request dials again', async () => {
    const quick = new UpstreamPool({ ...POOL, idleConnTimeoutMs: 20 });
    const handler = forwarding(() => upstreamUrl, quick, []);
    const engine = await startEngine(handler);
    try {
      const closedOne = new Promise<void>((r) => closedSessions.push(r));
      const first = await raw(engine.port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', answers(1));
      assert.equal(first.statuses[0], 200);
      await closedOne;
      assert.equal(quick.h2Sessions().size(), 0);
      const second = await raw(engine.port, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n', answers(1));
      assert.equal(second.statuses[0], 200);
    } finally {
      quick.close();
      await engine.close();
    }
  });
});
