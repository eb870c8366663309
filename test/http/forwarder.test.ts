import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { H1Server } from '../../src/engine/h1-server.ts';
import {
  createTransport,
  forward,
  upstreamTarget,
  type ForwardFailure,
  type Transport,
} from '../../src/http/forwarder.ts';
import type { ProxyRequest, ProxyResponse, RequestContext } from '../../src/http/handler.ts';
import { stripHopByHop } from '../../src/http/hop-by-hop.ts';
import { beforeHead } from '../../src/http/middlewares/respond.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

/** A raw HTTP/1.1 upstream: `answer` gets each request head and the count on its connection. */
async function rawUpstream(
  answer: (head: string, nth: number, socket: Socket) => void,
): Promise<{ server: NetServer; url: string; heads: string[]; connections: () => number }> {
  const heads: string[] = [];
  let conns = 0;
  const server = createNetServer((socket) => {
    conns++;
    let nth = 0;
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        heads.push(head);
        answer(head, ++nth, socket);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, heads, connections: () => conns };
}

/** A front server (berth's HTTP/1.1 engine) that forwards every request to `target()` the way a router does. */
async function front(
  target: () => string,
  transport: Transport,
  setup?: (req: ProxyRequest, res: ProxyResponse) => void,
  failures?: ForwardFailure[],
): Promise<{ server: NetServer; port: number }> {
  const h1 = new H1Server(
    {
      maxHeaderBytes: 16_384,
      maxHeaderCount: 100,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 10_000,
    },
    {
      request(req, res) {
        const ctx: RequestContext = {
          entrypoint: 'web',
          scheme: 'http',
          remoteIp: '127.0.0.1',
          clientIp: '127.0.0.1',
          trustedPeer: false,
          host: 'app.test',
          path: req.url,
          start: 0,
        };
        stripHopByHop(req.headers, false);
        setup?.(req, res);
        const url = target();
        forward(req, res, ctx, upstreamTarget(url, new URL(url)), transport, true, (k) => failures?.push(k));
      },
      done() {
        /* nothing logged */
      },
    },
  );
  const sockets = new Set<Socket>();
  const server = createNetServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    h1.accept(s);
  });
  server.once('close', () => {
    for (const s of sockets) s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

function get(
  port: number,
  path: string,
  opts: { method?: string; body?: string; agent?: boolean } = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; raw: string[]; body: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host: 'app.test' }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const done = (): void =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            raw: res.rawHeaders,
            body: Buffer.concat(chunks).toString(),
            complete: res.complete,
          });
        res.on('end', done);
        res.on('aborted', done);
        res.on('error', done);
      },
    );
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end(opts.body);
  });
}

const close = (s: Server | NetServer): Promise<void> =>
  new Promise((r) => {
    s.close(() => r());
    (s as Server).closeAllConnections?.();
    s.emit('close');
  });

describe("forwarder over berth's upstream pool", () => {
  const transport = createTransport({
    dialTimeoutMs: 2000,
    responseHeaderTimeoutMs: 0,
    idleConnTimeoutMs: 30_000,
    maxIdleConnsPerHost: 10,
    insecureSkipVerify: false,
  });
  const servers: (Server | NetServer)[] = [];
  after(async () => {
    transport.close();
    await Promise.all(servers.map((s) => close(s)));
  });

  test('a kept-alive connection the upstream drops unanswered: GET is sent again on a fresh one, POST fails with 502', async () => {
    // Every second request on a connection is dropped without an answer, as an upstream closing an
    // idle connection at the moment the next request arrives.
    const up = await rawUpstream((head, nth, socket) => {
      if (nth === 2 || head.startsWith('POST')) {
        socket.destroy();
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok');
    });
    const failures: ForwardFailure[] = [];
    const f = await front(() => up.url, transport, undefined, failures);
    servers.push(up.server, f.server);
    assert.equal((await get(f.port, '/one')).status, 200);
    const again = await get(f.port, '/two');
    assert.equal(again.status, 200, 'the retried GET');
    assert.equal(again.body, 'ok');
    assert.deepEqual(
      up.heads.map((h) => h.split('\r\n')[0]),
      ['GET /one HTTP/1.1', 'GET /two HTTP/1.1', 'GET /two HTTP/1.1'],
    );
    assert.deepEqual(failures, []);
    // A request with a body is never sent twice.
    const post = await get(f.port, '/three', { method: 'POST', body: 'data' });
    assert.equal(post.status, 502);
    assert.deepEqual(failures, ['reset']);
    assert.equal(up.heads.filter((h) => h.startsWith('POST /three')).length, 1);
  });

  test('response headers: hop-by-hop and Connection-named ones dropped, duplicates and the reason phrase kept', async () => {
    const up = await rawUpstream((_head, _nth, socket) => {
      socket.write(
        'HTTP/1.1 299 Custom Reason\r\nConnection: x-private, keep-alive\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\n' +
          'Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Multi: one\r\nX-Multi: two\r\nTrailer: x-t\r\nContent-Length: 2\r\n\r\nok',
      );
    });
    const f = await front(() => up.url, transport);
    servers.push(up.server, f.server);
    const r = await get(f.port, '/');
    assert.equal(r.status, 299);
    assert.equal(r.headers['x-private'], undefined);
    assert.equal(r.headers['keep-alive'], undefined);
    assert.equal(r.headers.trailer, undefined);
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(r.headers['x-multi'], 'one, two');
    assert.equal(r.body, 'ok');
  });

  test('headers set before forwarding (a sticky cookie) merge with the upstream Set-Cookie', async () => {
    const up = await rawUpstream((_head, _nth, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nSet-Cookie: app=1\r\nX-From: upstream\r\nContent-Length: 0\r\n\r\n');
    });
    const f = await front(
      () => up.url,
      transport,
      (_req, res) => {
        res.setHeader('set-cookie', 'sticky=abc; Path=/');
        res.setHeader('x-from', 'front');
      },
    );
    servers.push(up.server, f.server);
    const r = await get(f.port, '/');
    assert.deepEqual(r.headers['set-cookie'], ['sticky=abc; Path=/', 'app=1']);
    assert.equal(r.headers['x-from'], 'upstream', 'the upstream value wins, as before');
  });

  test('a middleware watching the head sees the upstream headers on res and can edit them', async () => {
    const up = await rawUpstream((_head, _nth, socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\nX-Upstream: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok',
      );
    });
    const f = await front(
      () => up.url,
      transport,
      (_req, res) => {
        beforeHead(res, () => {
          res.setHeader('x-seen', String(res.getHeader('x-upstream')));
        });
      },
    );
    servers.push(up.server, f.server);
    const r = await get(f.port, '/');
    assert.equal(r.headers['x-seen'], '1');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(r.body, 'ok');
  });

  test('a server URL with a path prefix and query is joined with the request target', async () => {
    const up = await rawUpstream((_head, _nth, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    let base = `${up.url}/base/`;
    const f = await front(() => base, transport);
    servers.push(up.server, f.server);
    await get(f.port, '/x?y=1');
    base = `${up.url}/base`;
    await get(f.port, '/x');
    base = `${up.url}/base?k=v`;
    await get(f.port, '/x?y=1');
    assert.deepEqual(
      up.heads.map((h) => h.split(' ')[1]),
      ['/base/x?y=1', '/base/x', '/base/x?k=v&y=1'],
    );
  });

  test('an upstream that dies mid-body aborts the client response: never a complete short body', async () => {
    const up = await rawUpstream((_head, _nth, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b');
      setTimeout(() => socket.destroy(), 20);
    });
    const failures: ForwardFailure[] = [];
    const f = await front(() => up.url, transport, undefined, failures);
    servers.push(up.server, f.server);
    const r = await get(f.port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.complete, false);
    assert.ok(r.body.length < 100);
    assert.deepEqual(failures, ['reset']);
  });

  test('a client that stops reading stops the upstream too (backpressure past the first chunk)', async () => {
    let written = 0;
    const total = 64 * 1024 * 1024;
    const up = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = (): void => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const f = await front(() => `http://127.0.0.1:${(up.address() as AddressInfo).port}`, transport);
    servers.push(up, f.server);
    const req = request({ host: '127.0.0.1', port: f.port, path: '/big', headers: { host: 'app.test' }, agent: false });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      idleTimeout(req, 30_000, `GET /big on ${f.port}`);
      req.on('error', reject);
      req.end();
    });
    res.pause();
    await new Promise((r) => setTimeout(r, 800));
    // Socket buffers on loopback hold a few MB; without backpressure berth would have read it all.
    assert.ok(written < total / 2, `the upstream wrote ${written} of ${total} bytes to a client that reads nothing`);
    let received = 0;
    res.on('data', (c: Buffer) => {
      received += c.length;
    });
    const ended = new Promise<void>((r) => res.on('end', () => r()));
    res.resume();
    await ended;
    assert.equal(received, total);
  });

  test('a refused upstream is 502; a chunked request body arrives whole', async () => {
    const dead = createNetServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await close(dead);
    const failures: ForwardFailure[] = [];
    const f1 = await front(() => deadUrl, transport, undefined, failures);
    servers.push(f1.server);
    assert.equal((await get(f1.port, '/')).status, 502);
    assert.deepEqual(failures, ['refused']);

    let received: { body: string } | undefined;
    const up = createServer((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => {
        received = { body };
        res.end();
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const f2 = await front(() => `http://127.0.0.1:${(up.address() as AddressInfo).port}`, transport);
    servers.push(up, f2.server);
    const r = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: f2.port,
          path: '/up',
          method: 'POST',
          headers: { host: 'app.test', 'transfer-encoding': 'chunked' },
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      idleTimeout(req, 30_000, `POST on ${f2.port}`);
      req.on('error', reject);
      req.write('hello');
      req.end();
    });
    assert.equal(r, 200);
    // Re-framed: chunked again, or with a Content-Length when the whole body was already read.
    assert.equal(received?.body, 'hello');
  });
});

describe('forwarder: a closed transport', () => {
  let up: Awaited<ReturnType<typeof rawUpstream>>;
  before(async () => {
    up = await rawUpstream((_h, _n, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  });
  after(async () => {
    await close(up.server);
  });

  test('a request on a transport closed by a newer snapshot is still served, and its connection is not kept', async () => {
    const transport = createTransport({
      dialTimeoutMs: 2000,
      responseHeaderTimeoutMs: 0,
      idleConnTimeoutMs: 30_000,
      maxIdleConnsPerHost: 10,
      insecureSkipVerify: false,
    });
    transport.close();
    const f = await front(() => up.url, transport);
    const r = await get(f.port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
    await close(f.server);
  });
});
