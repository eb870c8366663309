import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { bodyReadable } from '../../src/engine/body.ts';
import type { ProxyRequest } from '../../src/engine/message.ts';
import type { ProxyResponse } from '../../src/engine/response.ts';
import { answers, raw, startEngine, type Engine } from './harness.ts';
import { withTimeout } from '../helpers/with-timeout.ts';

/** Answers with the method, target and body it received; `/slow` waits, `/big` sends 64 KiB. */
function echo(req: ProxyRequest, res: ProxyResponse): void {
  const chunks: Buffer[] = [];
  const body = bodyReadable(req.body);
  body.on('data', (c: Buffer) => chunks.push(c));
  body.on('end', () => {
    const text = `${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`;
    const answer = (): void => {
      if (req.url === '/chunked') {
        res.trailers = undefined;
        res.setHeader('x-kind', 'chunked');
        res.write(text.slice(0, 3));
        res.end(text.slice(3));
        return;
      }
      res.setHeader('content-length', Buffer.byteLength(text));
      res.end(text);
    };
    if (req.url === '/slow') setTimeout(answer, 50);
    else answer();
  });
}

describe('HTTP/1.1 engine: connections, framing, pipelining', () => {
  let e: Engine;
  before(async () => {
    e = await startEngine(echo);
  });
  after(async () => {
    await e.close();
  });

  test('keep-alive: requests on one connection are answered in order, pipelined or not, slow or not', async () => {
    const bytes =
      'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nPOST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: a\r\n\r\n';
    const r = await raw(e.port, bytes, answers(3));
    assert.deepEqual(r.statuses, [200, 200, 200]);
    assert.equal(r.closed, false, 'the connection stays open');
    const bodies = r.text
      .split('\r\n\r\n')
      .slice(1)
      .map((b) => b.replace(/HTTP\/1\.1.*$/s, ''));
    assert.deepEqual(bodies, ['GET /slow ', 'POST /p abc', 'GET /c ']);
  });

  test('a pipelined request split anywhere is parsed the same (one byte per write)', async () => {
    const bytes =
      'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n';
    const r = await raw(
      e.port,
      [...bytes].map((c) => Buffer.from(c, 'latin1')),
      answers(2),
    );
    assert.deepEqual(r.statuses, [200, 200]);
    assert.match(r.text, /POST \/x abc/);
    assert.match(r.text, /GET \/y $/);
  });

  test('framing of the answer follows the client: chunked for HTTP/1.1, close-delimited for HTTP/1.0, nothing for HEAD', async (t) => {
    const cases = [
      {
        desc: 'HTTP/1.1, no length',
        req: 'GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n',
        head: /transfer-encoding: chunked/,
        body: '3\r\nGET\r\na\r\n /chunked \r\n0\r\n\r\n',
        closed: false,
      },
      {
        desc: 'HTTP/1.0, no length',
        req: 'GET /chunked HTTP/1.0\r\n\r\n',
        head: /connection: close/,
        body: 'GET /chunked ',
        closed: true,
      },
      {
        desc: 'HTTP/1.0 keep-alive with a length',
        req: 'GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
        head: /connection: keep-alive/,
        body: 'GET /k ',
        closed: false,
      },
      {
        desc: 'HEAD: headers, no body',
        req: 'HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n',
        head: /content-length: 8/,
        body: '',
        closed: false,
      },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const r = await raw(
          e.port,
          c.req,
          c.closed ? undefined : (text) => text.includes('\r\n\r\n') && text.endsWith(c.body),
          2000,
        );
        const [head, ...rest] = r.text.split('\r\n\r\n');
        assert.match(head!, c.head);
        assert.equal(rest.join('\r\n\r\n'), c.body);
        assert.equal(r.closed, c.closed);
      });
    }
  });

  test('Expect: 100-continue gets its interim answer; other expectations 417; CONNECT 405 and close', async () => {
    const r = await raw(
      e.port,
      'POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi',
      (t) => t.includes('POST /e hi'),
    );
    assert.deepEqual(r.statuses, [100, 200]);
    const r2 = await raw(e.port, 'GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n', answers(1));
    assert.deepEqual(r2.statuses, [417]);
    const r3 = await raw(e.port, 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n');
    assert.deepEqual(r3.statuses, [405]);
    assert.ok(r3.closed);
  });

  test('a bad head is answered after the answers still owed, then the connection closes', async () => {
    const r = await raw(
      e.port,
      'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHo st: a\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    assert.deepEqual(r.statuses, [200, 400]);
    assert.ok(r.closed);
    assert.ok(!r.text.includes('/never'));
  });

  test('limits: too many header lines or too many header bytes → 431 and close', async () => {
    const many = Array.from({ length: 150 }, (_, i) => `X-${i}: v\r\n`).join('');
    const r = await raw(e.port, `GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`);
    assert.deepEqual(r.statuses, [431]);
    assert.ok(r.closed);
    const r2 = await raw(e.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    assert.deepEqual(r2.statuses, [431]);
    assert.ok(r2.closed);
  });

  test('Connection: close is honoured: answered, then FIN (never a reset) even with bytes still coming', async () => {
    const r = await raw(
      e.port,
      'GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /late HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    assert.deepEqual(r.statuses, [200]);
    assert.ok(r.closed);
    assert.equal(r.reset, false);
  });
});

describe('HTTP/1.1 engine: bodies', () => {
  test('an answer that does not read a small body keeps the connection; a large unread body closes it', async () => {
    const e = await startEngine((_req, res) => {
      res.setHeader('content-length', '2');
      res.end('no');
    });
    try {
      const r = await raw(
        e.port,
        `POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789GET /b HTTP/1.1\r\nHost: a\r\n\r\n`,
        answers(2),
      );
      assert.deepEqual(r.statuses, [200, 200]);
      const big = Buffer.alloc(1024 * 1024, 120);
      const r2 = await raw(e.port, [`POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n`, big]);
      assert.deepEqual(r2.statuses, [200]);
      assert.ok(r2.closed, 'closed instead of reading a megabyte nobody wants');
    } finally {
      await e.close();
    }
  });

  test('a body the handler is not reading yet waits (bounded) and arrives whole once read', async () => {
    const e = await startEngine((req, res) => {
      setTimeout(() => {
        let n = 0;
        const b = bodyReadable(req.body);
        b.on('data', (c: Buffer) => {
          n += c.length;
        });
        b.on('end', () => {
          const t = String(n);
          res.setHeader('content-length', t.length);
          res.end(t);
        });
      }, 100);
    });
    try {
      const big = Buffer.alloc(4 * 1024 * 1024, 97);
      const r = await raw(
        e.port,
        [`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n`, big],
        answers(1),
        10_000,
      );
      assert.deepEqual(r.statuses, [200]);
      assert.ok(r.text.endsWith(`\r\n\r\n${big.length}`));
    } finally {
      await e.close();
    }
  });

  test('an invalid chunk size in a body being read: 400, and the reader sees the body fail', async () => {
    let failed: string | undefined;
    let reading!: () => void;
    const started = new Promise<void>((r) => {
      reading = r;
    });
    const e = await startEngine((req) => {
      req.body!.start({
        onBodyData: () => {
          reading();
          return true;
        },
        onBodyEnd: () => {
          failed = 'ended';
        },
        onBodyError: (err) => {
          failed = err.message;
        },
      });
    });
    try {
      const s = connect(e.port, '127.0.0.1');
      let text = '';
      s.on('data', (d: Buffer) => {
        text += d.toString();
      });
      s.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
      await started;
      s.write('zz\r\n');
      await withTimeout(new Promise<void>((r) => s.once('close', () => r())), 30_000, '`s` to close');
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.match(failed ?? '', /framing/);
      // A framing error before anyone reads the body is answered the same way, and nothing runs.
      const r = await raw(e.port, 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n');
      assert.deepEqual(r.statuses, [400]);
      assert.ok(r.closed);
    } finally {
      await e.close();
    }
  });
});

describe('HTTP/1.1 engine: timeouts (one sweep, no timer per request)', () => {
  test('slowloris: a head not complete within headersTimeout → 408 and close', async () => {
    const e = await startEngine(echo, { headersTimeoutMs: 300 });
    try {
      const s = connect(e.port, '127.0.0.1');
      let text = '';
      s.on('data', (d: Buffer) => {
        text += d.toString();
      });
      s.write('GET / HTTP/1.1\r\nHost: a\r\n');
      const drip = setInterval(() => {
        if (!s.destroyed) s.write('X-Slow: v\r\n');
      }, 50);
      await withTimeout(new Promise<void>((r) => s.once('close', () => r())), 30_000, '`s` to close');
      clearInterval(drip);
      assert.match(text, /^HTTP\/1\.1 408 /);
    } finally {
      await e.close();
    }
  });

  test('a body not complete within the request timeout → 408 and close; an idle keep-alive connection is closed', async () => {
    const e = await startEngine(echo, { requestTimeoutMs: 300, headersTimeoutMs: 300, idleTimeoutMs: 300 });
    try {
      const r = await raw(e.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', undefined, 10_000);
      assert.deepEqual(r.statuses, [408]);
      assert.ok(r.closed);
      const r2 = await raw(e.port, 'GET /i HTTP/1.1\r\nHost: a\r\n\r\n', undefined, 10_000);
      assert.deepEqual(r2.statuses, [200]);
      assert.ok(r2.closed, 'closed once idle past idleTimeout');
    } finally {
      await e.close();
    }
  });

  test('drain: an answer in flight says Connection: close; an idle connection is closed after the settle time', async () => {
    const e = await startEngine(echo);
    try {
      const idle = connect(e.port, '127.0.0.1');
      idle.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
      await withTimeout(new Promise<void>((r) => idle.once('data', () => r())), 30_000, '`idle` to receive data');
      const idleClosed = new Promise<void>((r) => idle.once('close', () => r()));
      const busy = raw(e.port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
      await new Promise((r) => setTimeout(r, 10));
      e.server.drain(100);
      const r = await busy;
      assert.match(r.text, /connection: close/);
      assert.ok(r.closed);
      await idleClosed;
    } finally {
      await e.close();
    }
  });
});
