import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { echoHandler, startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

/** One request through berth with an explicit Host; resolves status, headers and body. */
function get(
  port: number,
  host: string,
  path = '/',
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | Readable } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host, ...opts.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    if (opts.body instanceof Readable) opts.body.pipe(req);
    else req.end(opts.body);
  });
}

/** Sends raw bytes and returns the first response line. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
    });
    s.on('close', () => resolve(out.split('\r\n')[0] ?? ''));
    s.on('error', () => resolve(out.split('\r\n')[0] ?? ''));
    s.write(bytes);
    setTimeout(() => s.end(), 500).unref();
  });
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

describe('berth core: HTTP proxying against real upstreams', { timeout: 120_000 }, () => {
  let berth: BerthProcess;
  let web: number;
  let dynPath: string;
  const ups: Upstream[] = [];
  let echo: Upstream, ws: Upstream, sse: Upstream, silent: Upstream, big: Upstream, sick: Upstream;
  let refusedPort: number;
  let dyn: Record<string, any>;
  let stalledPeakKb = 0;

  const writeDyn = (cfg: unknown): void => {
    const tmp = `${dynPath}.tmp`;
    writeFileSync(tmp, typeof cfg === 'string' ? cfg : stringify(cfg));
    renameSync(tmp, dynPath);
  };

  before(async () => {
    echo = await startUpstream(echoHandler('echo'));
    ws = await startUpstream(echoHandler('ws'), { wsEcho: true });
    sse = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: first\n\n');
      // The stream stays open: the client must see the first event before the upstream ends.
      setTimeout(() => res.end('data: last\n\n'), 3000).unref();
    });
    silent = await startUpstream(() => {
      /* never answers */
    });
    big = await startUpstream((req, res) => {
      if (req.method === 'POST') {
        let n = 0;
        if (req.url?.includes('stall')) {
          // Stall reading for a second, then sample berth's memory before draining the body.
          req.pause();
          setTimeout(() => {
            stalledPeakKb = rssKb(berth.pid);
            req.resume();
          }, 1000);
        }
        req.on('data', (c: Buffer) => {
          n += c.length;
        });
        req.on('end', () => res.end(String(n)));
        return;
      }
      const chunk = Buffer.alloc(64 * 1024, 97);
      let left = 50 * 1024 * 1024;
      res.writeHead(200, { 'content-length': left });
      const pump = (): void => {
        while (left > 0) {
          left -= chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    sick = await startUpstream((req, res) => {
      res.statusCode = req.url === '/health' ? 500 : 200;
      res.end('sick');
    });
    ups.push(echo, ws, sse, silent, big, sick);
    refusedPort = await freePort();
    web = await freePort();
    const berthDir = tempDir('berth-core-');
    dynPath = join(berthDir, 'dynamic.yaml');
    dyn = {
      http: {
        routers: {
          echo: { rule: 'Host(`echo.test`)', service: 'echo' },
          ws: { rule: 'Host(`ws.test`)', service: 'ws' },
          sse: { rule: 'Host(`sse.test`)', service: 'sse' },
          silent: { rule: 'Host(`silent.test`)', service: 'silent' },
          refused: { rule: 'Host(`refused.test`)', service: 'refused' },
          big: { rule: 'Host(`big.test`)', service: 'big' },
          sick: { rule: 'Host(`sick.test`)', service: 'sick' },
          api: { rule: 'Host(`echo.test`) && PathPrefix(`/api`)', service: 'echo', priority: 1000 },
        },
        services: {
          echo: { loadBalancer: { servers: [{ url: echo.url }] } },
          ws: { loadBalancer: { servers: [{ url: ws.url }] } },
          sse: { loadBalancer: { servers: [{ url: sse.url }] } },
          silent: { loadBalancer: { servers: [{ url: silent.url }], serversTransport: 'quick' } },
          refused: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${refusedPort}` }] } },
          big: { loadBalancer: { servers: [{ url: big.url }] } },
          sick: {
            loadBalancer: {
              servers: [{ url: sick.url }],
              healthCheck: { path: '/health', interval: '100ms', timeout: '1s' },
            },
          },
        },
        serversTransports: { quick: { forwardingTimeouts: { responseHeaderTimeout: '500ms' } } },
      },
    };
    writeFileSync(dynPath, stringify(dyn));
    berth = await startBerth({
      dir: berthDir,
      config: {
        entryPoints: { web: { address: `127.0.0.1:${web}` } },
        providers: { file: { filename: dynPath, watch: true } },
      },
    });
    await waitUntil(async () => (await get(web, 'echo.test')).status === 200, 'the file config to be served');
  });

  after(async () => {
    const t0 = Date.now();
    const code = await berth?.stop();
    process.stderr.write(`berth stopped in ${Date.now() - t0} ms\n`);
    await Promise.all(ups.map((u) => u.close()));
    assert.equal(code, 0, 'berth exits 0 after SIGTERM');
  });

  test('routes by host and priority, with Traefik forwarding headers', async () => {
    const r = await get(web, 'Echo.Test.', '/hello?x=1');
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body);
    assert.equal(body.url, '/hello?x=1');
    assert.equal(body.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(body.headers['x-forwarded-proto'], 'http');
    assert.equal(body.headers['x-forwarded-host'], 'Echo.Test.');
    assert.equal(body.headers['x-real-ip'], '127.0.0.1');
    assert.equal(body.headers.host, 'Echo.Test.', 'passHostHeader defaults to true');
  });

  test('hop-by-hop headers and those named in Connection are removed; berth headers survive', async () => {
    const r = await get(web, 'echo.test', '/', {
      headers: {
        connection: 'keep-alive, X-Secret, X-Forwarded-For',
        'x-secret': 's',
        'keep-alive': '5',
        te: 'gzip, trailers',
        'x-forwarded-for': '6.6.6.6',
      },
    });
    const h = JSON.parse(r.body).headers;
    assert.equal(h['x-secret'], undefined);
    assert.equal(h['keep-alive'], undefined);
    assert.equal(
      h.te,
      'trailers',
      'TE is reduced to "trailers", as Go\'s reverse proxy does (gRPC servers require it)',
    );
    assert.equal(h['x-forwarded-for'], '127.0.0.1', 'untrusted X-Forwarded-For replaced, not appended');
  });

  test('berth answers its own statuses and survives every one of them', async (t) => {
    const cases = [
      { desc: 'no router → 404', host: 'nobody.test', status: 404 },
      { desc: 'upstream refused → 502', host: 'refused.test', status: 502 },
      { desc: 'upstream silent → 504 after responseHeaderTimeout', host: 'silent.test', status: 504 },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => assert.equal((await get(web, c.host)).status, c.status));
    }
    await t.test('no healthy server → 503', async () => {
      await waitUntil(
        async () => (await get(web, 'sick.test')).status === 503,
        'the health check to mark the server down',
      );
    });
    await t.test('malformed request → 400', async () => {
      assert.match(await raw(web, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400/);
      assert.match(await raw(web, 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'), /^HTTP\/1\.1 400/);
      assert.match(await raw(web, 'GET / HTTP/1.1\r\nHost: echo.test\r\nHost: other.test\r\n\r\n'), /^HTTP\/1\.1 400/);
    });
    await t.test('oversized headers → 431', async () => {
      assert.match(
        await raw(web, `GET / HTTP/1.1\r\nHost: echo.test\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`),
        /^HTTP\/1\.1 431/,
      );
      const many = Array.from({ length: 500 }, (_, i) => `X-H${i}: v\r\n`).join('');
      assert.match(await raw(web, `GET / HTTP/1.1\r\nHost: echo.test\r\n${many}\r\n`), /^HTTP\/1\.1 431/);
    });
    await t.test('CONNECT → 405 and absolute-form for an unknown host → 404 (never an open proxy)', async () => {
      assert.match(
        await raw(web, 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n'),
        /^HTTP\/1\.1 405/,
      );
      assert.match(await raw(web, 'GET http://example.org/ HTTP/1.1\r\nHost: echo.test\r\n\r\n'), /^HTTP\/1\.1 404/);
    });
    const health = await berth.api<{ status: string }>('/health');
    assert.ok(health.status === 'ok' || health.status === 'degraded');
  });

  test('WebSocket echo through berth', async () => {
    const wsPort = web;
    const got = await new Promise<string>((resolve, reject) => {
      const s = connect(wsPort, '127.0.0.1', () => {
        s.write(
          'GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      let buf = Buffer.alloc(0);
      let upgraded = false;
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!upgraded) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.subarray(0, end).toString();
          if (!head.startsWith('HTTP/1.1 101')) {
            reject(new Error(head));
            return;
          }
          upgraded = true;
          buf = buf.subarray(end + 4);
          const payload = Buffer.from('hello berth');
          const mask = Buffer.from([1, 2, 3, 4]);
          const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
          s.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
        }
        if (upgraded && buf.length >= 2) {
          const len = buf[1]! & 0x7f;
          if (buf.length >= 2 + len) {
            resolve(buf.subarray(2, 2 + len).toString());
            s.destroy();
          }
        }
      });
      s.on('error', reject);
    });
    assert.equal(got, 'hello berth');
  });

  test('SSE events are flushed at once', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: web, path: '/events', headers: { host: 'sse.test' } }, (res) => {
        res.once('data', (d: Buffer) => {
          resolve(d.toString());
          req.destroy();
        });
      });
      req.on('error', (e) => {
        if (!String(e).includes('aborted')) reject(e);
      });
      req.end();
    });
    assert.match(first, /data: first/);
  });

  test('50 MB upload and download stream through with flat memory (backpressure, no buffering)', async () => {
    // While one side stalls, berth must hold only socket-buffer-sized data, not the 50 MB body.
    const base = rssKb(berth.pid);
    const up = await get(web, 'big.test', '/upload?stall=1', {
      method: 'POST',
      body: Readable.from(
        (function* () {
          const c = Buffer.alloc(64 * 1024, 98);
          for (let i = 0; i < 800; i++) yield c;
        })(),
      ),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(up.status, 200);
    assert.equal(up.body, String(50 * 1024 * 1024));
    const uploadGrowth = stalledPeakKb - base;
    const base2 = rssKb(berth.pid);
    const { bytes, stalledRss } = await new Promise<{ bytes: number; stalledRss: number }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: web, path: '/download', headers: { host: 'big.test' } }, (res) => {
        let n = 0;
        let measured = 0;
        res.once('data', () => {
          res.pause();
          setTimeout(() => {
            measured = rssKb(berth.pid);
            res.resume();
          }, 1000);
        });
        res.on('data', (c: Buffer) => {
          n += c.length;
        });
        rejectIfCut(res, reject, `GET /download on ${web}`);
        res.on('end', () => resolve({ bytes: n, stalledRss: measured }));
      });
      idleTimeout(req, 30_000, `GET /download on ${web}`);
      req.on('error', reject);
      req.end();
    });
    assert.equal(bytes, 50 * 1024 * 1024);
    const downloadGrowth = stalledRss - base2;
    assert.ok(uploadGrowth < 30 * 1024, `RSS grew by ${uploadGrowth} KiB while the upstream stalled an upload`);
    assert.ok(downloadGrowth < 30 * 1024, `RSS grew by ${downloadGrowth} KiB while the client stalled a download`);
  });

  test('/explain names the router, middlewares, service and servers, or why nothing matches', async () => {
    const hit = await berth.api<any>(`/explain?url=${encodeURIComponent('http://echo.test/api/x')}`);
    const web0 = hit.entrypoints.find((e: any) => e.entrypoint === 'web');
    assert.equal(web0.matched.router, 'api@file');
    assert.equal(web0.matched.service, 'echo@file');
    assert.deepEqual(web0.matched.middlewares, []);
    assert.equal(web0.matched.servers[0].healthy, true);
    const miss = await berth.api<any>(`/explain?url=${encodeURIComponent('http://nothing.test/')}`);
    assert.match(miss.verdict, /no router matches/);
  });

  test('a file change is live quickly with no failed request in flight; a broken file keeps the last good config', async (t) => {
    let failures = 0;
    let sent = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const r = await get(web, 'echo.test', '/loop');
        sent++;
        if (r.status !== 200) failures++;
      }
    })();
    const started = Date.now();
    dyn.http.routers.fresh = { rule: 'Host(`fresh.test`)', service: 'echo' };
    writeDyn(dyn);
    await waitUntil(async () => (await get(web, 'fresh.test')).status === 200, 'the new router');
    t.diagnostic(`file change live after ${Date.now() - started} ms`);
    writeDyn('http: [ this is : not yaml');
    await waitUntil(
      async () => (await berth.api<any>('/health')).providers.file.status !== 'ok',
      'the file provider to report the broken file',
    );
    const health = await berth.api<any>('/health');
    assert.equal(health.status, 'degraded');
    assert.ok(health.providers.file.error, 'health says why');
    assert.equal((await get(web, 'fresh.test')).status, 200, 'last good config kept');
    writeDyn(dyn);
    await waitUntil(async () => (await berth.api<any>('/health')).providers.file.status === 'ok', 'recovery');
    running = false;
    await loop;
    assert.ok(sent > 10);
    assert.equal(failures, 0, `${failures} of ${sent} in-flight requests failed during reloads`);
  });

  test('an invalid router is dropped alone and reported', async () => {
    dyn.http.routers.bad = { rule: 'Host(`bad.test`', service: 'echo' };
    dyn.http.routers.ghost = { rule: 'Host(`ghost.test`)', service: 'missing' };
    writeDyn(dyn);
    await waitUntil(
      async () => (await berth.api<any>('/routes.json')).http.some((r: any) => r.name === 'ghost@file'),
      'the new config',
    );
    const routes = await berth.api<any>('/routes.json');
    const bad = routes.http.find((r: any) => r.name === 'bad@file');
    const ghost = routes.http.find((r: any) => r.name === 'ghost@file');
    assert.equal(bad.status, 'disabled');
    assert.match(bad.errors.join(), /rule/);
    assert.equal(ghost.status, 'disabled');
    assert.match(ghost.errors.join(), /unknown service/);
    assert.equal((await get(web, 'echo.test')).status, 200);
  });
});
