import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { ForwardFailure } from '../../src/engine/exchange-base.ts';
import { UpstreamPool } from '../../src/engine/upstream-pool.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { waitUntil } from '../helpers/net.ts';
import { answers, POOL, raw, startProxy } from './harness.ts';

/** A node:http upstream that counts its connections and answers `ok` (or what `answer` says). */
async function upstream(
  answer?: (url: string, res: import('node:http').ServerResponse) => boolean,
): Promise<{ server: HttpServer; url: string; connections: Set<Socket>; opened: () => number }> {
  const connections = new Set<Socket>();
  let opened = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (answer?.(req.url ?? '/', res)) return;
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    opened++;
    connections.add(s);
    s.once('close', () => connections.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    opened: () => opened,
  };
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: up.test\r\n\r\n`;

describe('upstream pool: keep-alive, limits and timeouts', () => {
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  test('sequential requests reuse one kept-alive connection', async () => {
    const up = await upstream();
    const pool = new UpstreamPool(POOL);
    const p = await startProxy(up.url, pool);
    closers.push(
      () => up.server.close(),
      () => up.server.closeAllConnections(),
      () => pool.close(),
      () => p.close(),
    );
    for (let i = 0; i < 5; i++) assert.deepEqual((await raw(p.port, get(`/${i}`), answers(1))).statuses, [200]);
    assert.equal(up.opened(), 1);
    assert.equal(pool.idleCount(new URL(up.url).origin), 1);
  });

  test('maxIdleConnsPerHost bounds the idle connections; a negative value keeps none', async (t) => {
    for (const c of [
      { desc: 'at most 2 idle', max: 2, idle: 2 },
      { desc: 'negative: none', max: -1, idle: 0 },
      { desc: "0: Go's default of 2", max: 0, idle: 2 },
    ]) {
      await t.test(c.desc, async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const up = await upstream((url, res) => {
          if (url !== '/hold') return false;
          void gate.then(() => {
            res.writeHead(200, { 'content-length': 2 });
            res.end('ok');
          });
          return true;
        });
        const pool = new UpstreamPool({ ...POOL, maxIdleConnsPerHost: c.max });
        const p = await startProxy(up.url, pool);
        try {
          const all = Array.from({ length: 5 }, () => raw(p.port, get('/hold'), answers(1)));
          await waitUntil(() => up.opened() === 5, 'five upstream connections');
          release();
          for (const r of await Promise.all(all)) assert.deepEqual(r.statuses, [200]);
          await waitUntil(() => up.connections.size === c.idle, `${c.idle} connections left open`);
          assert.equal(pool.idleCount(new URL(up.url).origin), c.idle);
        } finally {
          await p.close();
          pool.close();
          up.server.closeAllConnections();
          up.server.close();
        }
      });
    }
  });

  test('idle connections are closed after idleConnTimeout', async () => {
    const up = await upstream();
    const pool = new UpstreamPool({ ...POOL, idleConnTimeoutMs: 200 });
    const p = await startProxy(up.url, pool);
    closers.push(
      () => up.server.close(),
      () => pool.close(),
      () => p.close(),
    );
    assert.deepEqual((await raw(p.port, get('/'), answers(1))).statuses, [200]);
    assert.equal(up.connections.size, 1);
    await waitUntil(() => up.connections.size === 0, 'berth to close the idle upstream connection');
  });

  test('response header timeout → 504, and that connection is closed, never reused', async () => {
    const up = await upstream((url) => url === '/silent');
    const pool = new UpstreamPool({ ...POOL, responseHeaderTimeoutMs: 200 });
    const failures: ForwardFailure[] = [];
    const p = await startProxy(up.url, pool, failures);
    closers.push(
      () => up.server.closeAllConnections(),
      () => up.server.close(),
      () => pool.close(),
      () => p.close(),
    );
    assert.deepEqual((await raw(p.port, get('/silent'), answers(1))).statuses, [504]);
    assert.deepEqual(failures, ['timeout']);
    await waitUntil(() => up.connections.size === 0, 'the silent connection closed');
    assert.deepEqual((await raw(p.port, get('/after'), answers(1))).statuses, [200]);
    assert.equal(up.opened(), 2);
  });

  test('an upstream that closes after answering (Connection: close, HTTP/1.0) is not pooled', async () => {
    const sockets: Socket[] = [];
    const srv: NetServer = createNetServer((s) => {
      sockets.push(s);
      s.once('data', () => s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const pool = new UpstreamPool(POOL);
    const p = await startProxy(url, pool);
    closers.push(
      () => srv.close(),
      () => pool.close(),
      () => p.close(),
    );
    for (let i = 0; i < 3; i++) assert.deepEqual((await raw(p.port, get('/'), answers(1))).statuses, [200]);
    assert.equal(sockets.length, 3);
    assert.equal(pool.idleCount(new URL(url).origin), 0);
  });

  test("response trailers reach a chunked client; a close-delimited body ends at the upstream's FIN", async () => {
    const srv: NetServer = createNetServer((s) => {
      s.on('data', (d: Buffer) => {
        if (d.toString().startsWith('GET /trailers'))
          s.write(
            'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n',
          );
        else s.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const pool = new UpstreamPool(POOL);
    const p = await startProxy(url, pool);
    closers.push(
      () => srv.close(),
      () => pool.close(),
      () => p.close(),
    );
    const r = await raw(p.port, get('/trailers'), answers(1));
    assert.match(r.text, /\r\n0\r\nX-Sum: 42\r\n\r\n$/);
    assert.doesNotMatch(r.text, /^trailer:/im, 'the Trailer header is hop-by-hop');
    const r2 = await raw(p.port, get('/eof'), answers(1));
    assert.match(r2.text, /transfer-encoding: chunked/);
    assert.match(r2.text, /d\r\nuntil the end\r\n0\r\n\r\n$/);
  });
});

describe('upstream pool: large Content-Length bodies (passed on read by read)', () => {
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });
  const SIZE = 300_000;
  /** A deterministic body, so a byte out of place shows. */
  const body = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => 97 + (i % 26)));
  const bodyOf = (text: string, n: number): string =>
    text.slice(text.indexOf('\r\n\r\n') + 4, text.indexOf('\r\n\r\n') + 4 + n);

  test('two large responses and a small one, in order, on one kept-alive upstream connection', async () => {
    const big = body(SIZE);
    const up = await upstream((url, res) => {
      if (url === '/small') return false;
      res.writeHead(200, { 'content-length': SIZE });
      res.end(big);
      return true;
    });
    const pool = new UpstreamPool(POOL);
    const p = await startProxy(up.url, pool);
    closers.push(
      () => up.server.closeAllConnections(),
      () => up.server.close(),
      () => pool.close(),
      () => p.close(),
    );
    const r = await raw(p.port, [get('/a') + get('/b') + get('/small')], answers(3));
    assert.deepEqual(r.statuses, [200, 200, 200]);
    const first = r.text.indexOf('\r\n\r\n') + 4;
    assert.equal(r.text.slice(first, first + SIZE), big.toString('latin1'));
    const second = r.text.indexOf('\r\n\r\n', first + SIZE) + 4;
    assert.equal(r.text.slice(second, second + SIZE), big.toString('latin1'));
    assert.match(r.text.slice(second + SIZE), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
    assert.equal(up.opened(), 1, 'the connection was reused after each large body');
    assert.equal(pool.idleCount(new URL(up.url).origin), 1);
  });

  test('a slow client: the body arrives whole, the upstream is read no faster than the client takes it', async () => {
    const big = body(4 * 1024 * 1024);
    const up = await upstream((_url, res) => {
      res.writeHead(200, { 'content-length': big.length });
      res.end(big);
      return true;
    });
    const pool = new UpstreamPool(POOL);
    const p = await startProxy(up.url, pool);
    closers.push(
      () => up.server.closeAllConnections(),
      () => up.server.close(),
      () => pool.close(),
      () => p.close(),
    );
    const { connect } = await import('node:net');
    const chunks: Buffer[] = [];
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      const s = connect(p.port, '127.0.0.1', () => s.write(get('/big')));
      s.on('error', reject);
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        // Stalls twice for a while: berth has to stop reading the upstream meanwhile.
        if (got > 200_000 && got - d.length <= 200_000) {
          s.pause();
          setTimeout(() => s.resume(), 300);
        }
        if (got > 2_000_000 && got - d.length <= 2_000_000) {
          s.pause();
          setTimeout(() => s.resume(), 300);
        }
        const text = Buffer.concat(chunks).toString('latin1');
        const head = text.indexOf('\r\n\r\n');
        if (head > 0 && got >= head + 4 + big.length) {
          s.destroy();
          resolve();
        }
      });
    });
    const all = Buffer.concat(chunks);
    const head = all.indexOf('\r\n\r\n') + 4;
    assert.equal(all.length - head, big.length);
    assert.ok(all.subarray(head).equals(big));
  });

  test('a body cut short closes the client connection, and the next request dials anew', async () => {
    const sockets: Socket[] = [];
    const srv: NetServer = createNetServer((s) => {
      sockets.push(s);
      s.on('data', (d: Buffer) => {
        if (d.toString().startsWith('GET /short')) {
          s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${SIZE}\r\n\r\n`);
          s.end(body(SIZE / 2));
        } else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const failures: ForwardFailure[] = [];
    const pool = new UpstreamPool(POOL);
    const p = await startProxy(url, pool, failures);
    closers.push(
      () => srv.close(),
      () => pool.close(),
      () => p.close(),
    );
    const r = await raw(p.port, get('/short'));
    assert.equal(r.closed, true, 'the client connection is closed: its response cannot be completed');
    assert.deepEqual(r.statuses, [200]);
    assert.equal(bodyOf(r.text, SIZE).length, SIZE / 2);
    assert.deepEqual((await raw(p.port, get('/next'), answers(1))).statuses, [200]);
    assert.equal(sockets.length, 2);
  });

  test('bytes past the announced length: the response is delivered as announced, the connection not reused', async () => {
    const sockets: Socket[] = [];
    const srv: NetServer = createNetServer((s) => {
      sockets.push(s);
      s.on('data', () => {
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${SIZE}\r\n\r\n`);
        s.write(Buffer.concat([body(SIZE), Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra')]));
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const pool = new UpstreamPool(POOL);
    const p = await startProxy(url, pool);
    closers.push(
      () => {
        for (const s of sockets) s.destroy();
      },
      () => srv.close(),
      () => pool.close(),
      () => p.close(),
    );
    const r = await raw(p.port, [get('/one') + get('/two')], answers(2));
    assert.deepEqual(r.statuses, [200, 200]);
    assert.equal(bodyOf(r.text, SIZE), body(SIZE).toString('latin1'));
    assert.doesNotMatch(r.text, /extra/);
    assert.equal(sockets.length, 2, 'the second request went on a new connection');
  });
});

describe('upstream pool: TLS upstreams (rootCAs, serverName, insecureSkipVerify)', () => {
  const ca = buildCertificate({ commonName: 'pool test CA', isCA: true });
  const leaf = buildCertificate({
    commonName: 'upstream.test',
    dnsNames: ['upstream.test'],
    issuer: { commonName: 'pool test CA', key: ca.key },
  });
  let url = '';
  let server: import('node:https').Server;
  before(async () => {
    server = createHttpsServer({ key: leaf.key, cert: leaf.cert }, (_req, res) => {
      res.writeHead(200, { 'content-length': 3 });
      res.end('tls');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('the certificate is checked against rootCAs and serverName; insecureSkipVerify skips it', async (t) => {
    const cases = [
      { desc: 'no CA: refused (502)', opts: {}, status: 502 },
      {
        desc: 'CA but no serverName: the name (127.0.0.1) does not match (502)',
        opts: { rootCAs: [ca.cert] },
        status: 502,
      },
      { desc: 'CA and serverName', opts: { rootCAs: [ca.cert], serverName: 'upstream.test' }, status: 200 },
      { desc: 'CA, wrong serverName (502)', opts: { rootCAs: [ca.cert], serverName: 'other.test' }, status: 502 },
      { desc: 'insecureSkipVerify', opts: { insecureSkipVerify: true }, status: 200 },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const pool = new UpstreamPool({ ...POOL, ...c.opts });
        const p = await startProxy(url, pool);
        try {
          const r = await raw(p.port, get('/'), answers(1));
          assert.deepEqual(r.statuses, [c.status]);
          if (c.status === 200) {
            assert.ok(r.text.endsWith('tls'));
            // Kept alive over TLS too.
            assert.deepEqual((await raw(p.port, get('/again'), answers(1))).statuses, [200]);
            assert.equal(pool.idleCount(new URL(url).origin), 1);
          }
        } finally {
          await p.close();
          pool.close();
        }
      });
    }
  });
});
