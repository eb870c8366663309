import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import type { RequestContext } from '../../src/engine/message.ts';
import { ProxyExchange } from '../../src/engine/proxy-exchange.ts';
import { UpstreamPool } from '../../src/engine/upstream-pool.ts';
import { upstreamTarget } from '../../src/engine/upstream-target.ts';
import { POOL, startEngine } from './harness.ts';

/**
 * The reads of a large upstream body are freed as soon as the client's socket took them; a read
 * something still holds must never be: here a tap that keeps every chunk until the end. (A client
 * that stops reading, whose chunks wait in the socket's queue, is in upstream-pool.test.ts.)
 */
const SIZE = 3 * 1024 * 1024;
/** Every byte differs from its neighbours, so a lost or reused read shows. */
const body = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + (i >> 12)) & 255));
const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: up.test\r\n\r\n`;

/**
 * An upstream that answers every request with `big` in parts of 64 KiB: with a Content-Length
 * (berth passes the reads on) or chunked (llhttp copies each part).
 */
async function upstream(big: Buffer, chunked: boolean): Promise<{ server: Server; url: string }> {
  const server = createServer((s) => {
    s.on('data', () => {
      s.write(`HTTP/1.1 200 OK\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${big.length}`}\r\n\r\n`);
      for (let off = 0; off < big.length; off += 65536) {
        const part = big.subarray(off, off + 65536);
        s.write(
          chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part,
        );
      }
      if (chunked) s.write('0\r\n\r\n');
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Sends `request` and collects the bytes of `n` answers of SIZE body bytes each. */
function fetchAll(port: number, request: string, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const s = connect(port, '127.0.0.1', () => s.write(request));
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed after ${got} bytes`)));
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got < n * SIZE) return;
      const all = Buffer.concat(chunks);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const head = all.indexOf('\r\n\r\n', at);
        if (head < 0 || all.length < head + 4 + SIZE) return;
        at = head + 4 + SIZE;
      }
      s.removeAllListeners('close');
      s.destroy();
      resolve(all);
    });
  });
}

function ctxOf(remoteIp: string): RequestContext {
  return {
    entrypoint: 'test',
    scheme: 'http',
    remoteIp,
    clientIp: remoteIp,
    trustedPeer: false,
    host: '',
    path: '/',
    start: 0,
  };
}

describe('upstream pool: the reads of a large body are freed only once nothing holds them', () => {
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  for (const chunked of [false, true])
    test(`a tap that keeps every chunk until the end writes the body unchanged (${chunked ? 'chunked' : 'Content-Length'})`, async () => {
      const big = body(SIZE);
      const up = await upstream(big, chunked);
      const pool = new UpstreamPool(POOL);
      const target = upstreamTarget(up.url, new URL(up.url));
      const p = await startEngine((req, res) => {
        const ctx = ctxOf(req.remoteAddress);
        req.ctx = ctx;
        let status = 200;
        const kept: Buffer[] = [];
        res.addTap((real) => ({
          head(s: number): void {
            status = s;
          },
          write(chunk: Buffer): boolean {
            kept.push(chunk);
            return true;
          },
          end(): void {
            // A chunked answer from the upstream goes on with its length, as the buffering middleware does.
            res.setHeader(
              'content-length',
              kept.reduce((n, c) => n + c.length, 0),
            );
            real.writeHead(status);
            for (const c of kept) real.write(c);
            real.end();
          },
        }));
        new ProxyExchange(req, res, ctx, target, pool, true, undefined).start();
      });
      closers.push(
        () => up.server.close(),
        () => pool.close(),
        () => p.close(),
      );
      const all = await fetchAll(p.port, get('/a') + get('/b'), 2);
      let at = 0;
      for (let i = 0; i < 2; i++) {
        const head = all.indexOf('\r\n\r\n', at) + 4;
        assert.match(all.subarray(at, head).toString('latin1'), /^HTTP\/1\.1 200 /);
        assert.ok(all.subarray(head, head + SIZE).equals(big), `response ${i + 1} arrived unchanged`);
        at = head + SIZE;
      }
    });
});
