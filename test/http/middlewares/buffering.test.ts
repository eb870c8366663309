import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdirSync } from 'node:fs';
import type { Handler } from '../../../src/http/handler.ts';
import { bufferingFactory } from '../../../src/http/middlewares/buffering.ts';
import { requestBody } from '../../../src/http/middlewares/body.ts';
import { waitUntil } from '../../helpers/net.ts';
import { echoOf, fixedHandler, send, silentLogger, startHarness } from './harness.ts';
import { idleTimeout } from '../../helpers/with-timeout.ts';

const spillFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('berth-buffer-'));

describe('buffering: request', () => {
  const cases = [
    {
      desc: 'body under the limit is forwarded with its length',
      options: { maxRequestBodyBytes: 100 },
      body: 'x'.repeat(100),
      status: 200,
    },
    {
      desc: 'announced length over the limit → 413',
      options: { maxRequestBodyBytes: 10 },
      body: 'x'.repeat(11),
      status: 413,
    },
    {
      desc: 'chunked body over the limit → 413',
      options: { maxRequestBodyBytes: 10 },
      body: 'x'.repeat(50),
      chunked: true,
      status: 413,
    },
    {
      desc: 'chunked body under the limit is re-framed with content-length',
      options: { maxRequestBodyBytes: 100 },
      body: 'hello',
      chunked: true,
      status: 200,
    },
    { desc: 'label-style string options', options: { maxrequestbodybytes: '10' }, body: 'x'.repeat(11), status: 413 },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(bufferingFactory, c.options);
      try {
        const headers: Record<string, string> = c.chunked ? { 'transfer-encoding': 'chunked' } : {};
        const r = await send(h.port, { method: 'POST', body: c.body, headers });
        assert.equal(r.status, c.status);
        if (c.status === 200) {
          const echo = echoOf(r);
          assert.equal(echo.body, c.body);
          assert.equal(echo.headers['content-length'], String(c.body.length));
          assert.equal(echo.headers['transfer-encoding'], undefined);
        }
      } finally {
        await h.close();
      }
    });
  }

  test('above memRequestBodyBytes the body spills to a temp file, removed after the response', async () => {
    let seenFiles: string[] = [];
    let dir = '';
    const final: Handler = (req, res, ctx) => {
      seenFiles = spillFiles(dir);
      const chunks: Buffer[] = [];
      requestBody(req)
        .on('data', (c: Buffer) => chunks.push(c))
        .on('end', () => fixedHandler(200, {}, Buffer.concat(chunks))(req, res, ctx));
    };
    const h = await startHarness(bufferingFactory, { memRequestBodyBytes: 16 }, { final });
    dir = h.tmpDir;
    try {
      const body = 'abcdefghij'.repeat(1000);
      const r = await send(h.port, { method: 'POST', body });
      assert.equal(r.status, 200);
      assert.equal(r.text, body);
      assert.equal(seenFiles.length, 1, 'spilled to one file while the request was forwarded');
      await waitUntil(() => spillFiles(dir).length === 0, 'temp file removed');
    } finally {
      await h.close();
    }
  });

  test('the temp file is removed when the client aborts mid-upload', async () => {
    let reached = false;
    const h = await startHarness(
      bufferingFactory,
      { memRequestBodyBytes: 8 },
      {
        final: () => {
          reached = true;
        },
      },
    );
    try {
      const req = request({ host: '127.0.0.1', port: h.port, method: 'POST', headers: { 'content-length': '100000' } });
      req.on('error', () => undefined);
      req.write('x'.repeat(1000));
      await waitUntil(() => spillFiles(h.tmpDir).length === 1, 'temp file created');
      req.destroy();
      await waitUntil(() => spillFiles(h.tmpDir).length === 0, 'temp file removed after abort');
      assert.equal(reached, false);
    } finally {
      await h.close();
    }
  });

  test('the temp file is removed when the body turns out too large', async () => {
    const h = await startHarness(bufferingFactory, { memRequestBodyBytes: 8, maxRequestBodyBytes: 5000 });
    try {
      const r = await send(h.port, {
        method: 'POST',
        body: 'y'.repeat(6000),
        headers: { 'transfer-encoding': 'chunked' },
      });
      assert.equal(r.status, 413);
      await waitUntil(() => spillFiles(h.tmpDir).length === 0, 'temp file removed after 413');
    } finally {
      await h.close();
    }
  });

  test('without request options the request body streams to the service', { timeout: 10_000 }, async () => {
    let gotFirst!: () => void;
    const firstChunk = new Promise<void>((r) => {
      gotFirst = r;
    });
    const final: Handler = (req, res) => {
      const chunks: Buffer[] = [];
      requestBody(req).on('data', (c: Buffer) => {
        chunks.push(c);
        gotFirst();
      });
      requestBody(req).on('end', () => res.end(Buffer.concat(chunks)));
    };
    const h = await startHarness(bufferingFactory, { maxResponseBodyBytes: 1000 }, { final });
    try {
      const done = new Promise<string>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: h.port, method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
          (res) => {
            let text = '';
            res
              .on('data', (c: Buffer) => {
                text += c.toString();
              })
              .on('end', () => resolve(text));
          },
        );
        idleTimeout(req, 30_000, `chunked POST on ${h.port}`);
        req.on('error', reject);
        req.write('first;');
        void firstChunk.then(() => req.end('second'));
      });
      assert.equal(await done, 'first;second');
    } finally {
      await h.close();
    }
  });
});

describe('buffering: response', () => {
  const cases = [
    {
      desc: 'under maxResponseBodyBytes: whole body with content-length',
      options: { maxResponseBodyBytes: 10 },
      parts: ['12345', '67890'],
      status: 200,
      body: '1234567890',
    },
    {
      desc: 'over maxResponseBodyBytes: 500, never a truncated 200',
      options: { maxResponseBodyBytes: 9 },
      parts: ['12345', '67890'],
      status: 500,
      body: 'Internal Server Error',
    },
    {
      desc: 'spills above memResponseBodyBytes',
      options: { memResponseBodyBytes: 4 },
      parts: ['a'.repeat(5000), 'b'.repeat(5000)],
      status: 200,
      body: 'a'.repeat(5000) + 'b'.repeat(5000),
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(bufferingFactory, c.options, {
        final: fixedHandler(
          200,
          { 'x-up': '1' },
          c.parts.map((p) => Buffer.from(p)),
        ),
      });
      try {
        const r = await send(h.port);
        assert.equal(r.status, c.status);
        assert.equal(r.text, c.body);
        assert.equal(r.headers['content-length'], String(Buffer.byteLength(c.body)));
        if (c.status === 500) assert.equal(r.headers['x-up'], undefined);
        await waitUntil(() => spillFiles(h.tmpDir).length === 0, 'temp file removed');
      } finally {
        await h.close();
      }
    });
  }

  test('without response options the response streams to the client', { timeout: 10_000 }, async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const final: Handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      void released.then(() => res.end('data: two\n\n'));
    };
    const h = await startHarness(bufferingFactory, { maxRequestBodyBytes: 1000 }, { final });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port: h.port }, (res) => {
          let t = '';
          res
            .on('data', (c: Buffer) => {
              t += c.toString();
              release();
            })
            .on('end', () => resolve(t));
        })
          .on('error', reject)
          .end();
      });
      assert.equal(text, 'data: one\n\ndata: two\n\n');
    } finally {
      await h.close();
    }
  });
});

describe('buffering: retryExpression', () => {
  const cases = [
    {
      desc: 'network error retried with the body replayed',
      expr: 'IsNetworkError() && Attempts() < 2',
      failures: 1,
      status: 200,
      calls: 2,
    },
    {
      desc: 'attempts exhausted: the last error is returned',
      expr: 'IsNetworkError() && Attempts() < 2',
      failures: 5,
      status: 502,
      calls: 2,
    },
    {
      desc: 'response code condition',
      expr: 'ResponseCode() == 502 && Attempts() <= 3',
      failures: 2,
      status: 200,
      calls: 3,
    },
    { desc: 'false expression: no retry', expr: 'Attempts() < 1', failures: 1, status: 502, calls: 1 },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      let calls = 0;
      const bodies: string[] = [];
      const final: Handler = (req, res, ctx) => {
        calls++;
        const chunks: Buffer[] = [];
        requestBody(req)
          .on('data', (d: Buffer) => chunks.push(d))
          .on('end', () => {
            bodies.push(Buffer.concat(chunks).toString());
            if (calls <= c.failures) {
              res.setHeader('x-failed', '1');
              res.writeHead(502);
              res.end('Bad Gateway');
              return;
            }
            fixedHandler(200, {}, 'ok')(req, res, ctx);
          });
      };
      const h = await startHarness(bufferingFactory, { retryExpression: c.expr }, { final });
      try {
        const r = await send(h.port, { method: 'POST', body: 'payload' });
        assert.equal(r.status, c.status);
        assert.equal(calls, c.calls);
        assert.deepEqual(bodies, Array(c.calls).fill('payload'));
        if (c.status === 200) assert.equal(r.headers['x-failed'], undefined);
      } finally {
        await h.close();
      }
    });
  }

  const invalid = [
    { desc: 'negative limit', options: { maxRequestBodyBytes: -1 }, error: 'maxRequestBodyBytes: must be at least 0' },
    {
      desc: 'limit not a number',
      options: { maxResponseBodyBytes: 'lots' },
      error: 'maxResponseBodyBytes: expected a number',
    },
    { desc: 'bad expression', options: { retryExpression: 'Attempts() <' }, error: 'retryExpression: unexpected end' },
    { desc: 'unknown function', options: { retryExpression: 'Foo()' }, error: 'retryExpression: unexpected "Foo"' },
  ];
  for (const c of invalid) {
    test(`invalid: ${c.desc}`, () => {
      assert.deepEqual(
        bufferingFactory(c.options, { name: 'x@file', logger: silentLogger, service: () => undefined, tmpDir: '/tmp' }),
        { error: c.error },
      );
    });
  }
});
