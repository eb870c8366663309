/**
 * TCP middlewares and inbound PROXY protocol through a berth process with the file provider, on
 * real sockets: who reaches an upstream, and which client address it is told (X-Forwarded-For,
 * X-Real-Ip, the access log, the PROXY header berth sends on, ClientIP rules, ipAllowList).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { stringify } from 'yaml';
import { parseProxyHeader } from '../../src/tcp/proxy-header-parser.ts';
import { proxyProtocolHeader } from '../../src/tcp/proxy-protocol.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { echoHandler, startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { idleTimeout, timeoutSignal, withTimeout } from '../helpers/with-timeout.ts';

const FOUR = { srcIp: '203.0.113.7', srcPort: 51000, dstIp: '192.0.2.1', dstPort: 443 };
const SIX = { srcIp: '2001:db8::7', srcPort: 51000, dstIp: '2001:db8::1', dstPort: 443 };

/** A raw TCP upstream: counts connections, records the first bytes of each, answers "up". */
async function rawUpstream(): Promise<{ server: Server; port: number; connections: Buffer[] }> {
  const connections: Buffer[] = [];
  const server = createServer((s) => {
    const i = connections.push(Buffer.alloc(0)) - 1;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      const first = connections[i]!.length === 0;
      connections[i] = Buffer.concat([connections[i]!, d]);
      if (first) s.write('up');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, connections };
}

/** Connects (from `localAddress`), writes `head` first, and resolves once connected. */
function dial(port: number, head: Buffer | undefined, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress }, () => {
      if (head) s.write(head);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** One HTTP/1.1 request over `socket`; resolves with the status and body (connection closed by us). */
function http1(socket: Socket | TLSSocket, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(`GET /who HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

/** Writes `data` (if any) and collects what comes back until the connection closes (a reset included). */
function answerOf(socket: Socket, data?: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(text));
    if (data !== undefined) socket.write(data);
  });
}

/** TLS over a socket that may already carry a PROXY header. */
function tlsOver(socket: Socket, servername: string, alpn: string[]): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({ socket, servername, rejectUnauthorized: false, ALPNProtocols: alpn }, () => resolve(t));
    t.once('error', reject);
  });
}

type Echo = { headers: Record<string, string> };

describe('L4 security through a berth process', () => {
  let berth: BerthProcess;
  let app: Upstream;
  let vip: Upstream;
  let denied: Awaited<ReturnType<typeof rawUpstream>>;
  let limited: Awaited<ReturnType<typeof rawUpstream>>;
  let proxied: Awaited<ReturnType<typeof rawUpstream>>;
  const port: Record<string, number> = {};
  let logPath = '';

  before(async () => {
    app = await startUpstream(echoHandler('app'));
    vip = await startUpstream((_req, res) => res.end('vip'));
    [denied, limited, proxied] = await Promise.all([rawUpstream(), rawUpstream(), rawUpstream()]);
    for (const n of ['deny', 'limit', 'lb', 'lbtcp']) port[n] = await freePort();
    const dir = tempDir('berth-l4sec-');
    logPath = join(dir, 'access.json');
    const tcpService = (p: number, proxy?: number) => ({
      loadBalancer: {
        servers: [{ address: `127.0.0.1:${p}` }],
        ...(proxy ? { proxyProtocol: { version: proxy } } : {}),
      },
    });
    writeFileSync(
      join(dir, 'dynamic.yaml'),
      stringify({
        http: {
          routers: {
            app: { rule: 'Host(`app.test`)', entryPoints: ['lb'], service: 'app' },
            'app-tls': { rule: 'Host(`app.test`)', entryPoints: ['lb'], service: 'app', tls: {} },
            vip: { rule: 'Host(`vip.test`) && ClientIP(`203.0.113.0/24`)', entryPoints: ['lb'], service: 'vip' },
          },
          services: {
            app: { loadBalancer: { servers: [{ url: app.url }] } },
            vip: { loadBalancer: { servers: [{ url: vip.url }] } },
          },
        },
        tcp: {
          routers: {
            deny: { rule: 'HostSNI(`*`)', entryPoints: ['deny'], service: 'denied', middlewares: ['only99'] },
            limit: { rule: 'HostSNI(`*`)', entryPoints: ['limit'], service: 'limited', middlewares: ['one'] },
            lbtcp: { rule: 'HostSNI(`*`)', entryPoints: ['lbtcp'], service: 'proxied', middlewares: ['from203'] },
          },
          services: {
            denied: tcpService(denied.port),
            limited: tcpService(limited.port),
            proxied: tcpService(proxied.port, 2),
          },
          middlewares: {
            only99: { ipAllowList: { sourceRange: ['127.0.0.99/32'] } },
            one: { inFlightConn: { amount: 1 } },
            from203: { ipAllowList: { sourceRange: ['203.0.113.7/32', '2001:db8::7'] } },
          },
        },
      }),
    );
    const pp = { proxyProtocol: { trustedIPs: ['127.0.0.1/32'] } };
    berth = await startBerth({
      dir,
      config: {
        // inFlightConn counts per process: one process makes "the second connection" deterministic.
        workers: 1,
        entryPoints: {
          deny: { address: `127.0.0.1:${port.deny}` },
          limit: { address: `127.0.0.1:${port.limit}` },
          lb: { address: `127.0.0.1:${port.lb}`, ...pp },
          lbtcp: { address: `127.0.0.1:${port.lbtcp}`, ...pp },
        },
        providers: { file: { filename: join(dir, 'dynamic.yaml') } },
        accessLog: { filePath: logPath, format: 'json' },
        // Served by the API; no `traefik` entrypoint on :8080.
        metrics: { prometheus: { manualRouting: true } },
      },
    });
    await waitUntil(
      async () => (await http1(await dial(port.lb!, undefined), 'app.test')).status === 200,
      'the file routes',
    );
  });
  after(async () => {
    await berth?.stop();
    await Promise.all([app?.close(), vip?.close()]);
    for (const u of [denied, limited, proxied]) u?.server.close();
  });

  describe('TCP middlewares', () => {
    test('a client outside sourceRange is closed, and the upstream sees no connection at all', async () => {
      const s = await dial(port.deny!, Buffer.from('hello'));
      await withTimeout(new Promise((r) => s.once('close', r)), 30_000, '`s` to close');
      assert.equal(denied.connections.length, 0);
      const refused = /^berth_tcp_connections_refused_total\{router="deny@file",middleware="only99@file"\} [1-9]/m;
      await waitUntil(
        async () =>
          refused.test(
            await (await fetch(`${berth.apiUrl}/metrics`, { signal: timeoutSignal(15_000, 'berth /metrics') })).text(),
          ),
        'the refusal in /metrics',
      );
      await waitUntil(
        () => berth.logs.some((l) => l.includes('refused by middleware only99@file')),
        'the refusal in the log',
      );
    });

    test('inFlightConn 1: the second concurrent connection is closed, a third after the first closed is relayed', async () => {
      const first = await dial(port.limit!, Buffer.from('one'));
      assert.equal(
        await withTimeout(
          new Promise((r) => first.once('data', (d: Buffer) => r(d.toString()))),
          30_000,
          '`first` to receive data',
        ),
        'up',
      );
      const second = await dial(port.limit!, Buffer.from('two'));
      await withTimeout(new Promise((r) => second.once('close', r)), 30_000, '`second` to close');
      assert.equal(limited.connections.length, 1);
      first.destroy();
      // berth frees the slot when its side of the first connection has closed, which this process
      // only sees through its effect: retry until the third connection is relayed.
      let answer = '';
      for (let i = 0; answer !== 'up' && i < 100; i++) {
        const third = await dial(port.limit!, Buffer.from('three'));
        answer = await new Promise<string>((r) => {
          third.once('data', (d: Buffer) => r(d.toString()));
          third.once('close', () => r(''));
        });
        third.destroy();
      }
      assert.equal(answer, 'up');
      assert.equal(limited.connections.length, 2);
    });
  });

  describe('inbound PROXY protocol from a trusted balancer', () => {
    const headers = [
      { desc: 'v1 TCP4', bytes: proxyProtocolHeader(1, FOUR), ip: FOUR.srcIp },
      { desc: 'v1 TCP6', bytes: proxyProtocolHeader(1, SIX), ip: SIX.srcIp },
      { desc: 'v2 TCP4', bytes: proxyProtocolHeader(2, FOUR), ip: FOUR.srcIp },
      { desc: 'v2 TCP6', bytes: proxyProtocolHeader(2, SIX), ip: SIX.srcIp },
    ];
    for (const h of headers) {
      test(`${h.desc}: plain HTTP, the upstream is told ${h.ip}`, async () => {
        const res = await http1(await dial(port.lb!, h.bytes), 'app.test');
        assert.equal(res.status, 200);
        const echo = JSON.parse(res.body) as Echo;
        assert.equal(echo.headers['x-forwarded-for'], h.ip);
        assert.equal(echo.headers['x-real-ip'], h.ip);
      });
      test(`${h.desc}: HTTPS (HTTP/1.1 and h2), the upstream is told ${h.ip}`, async () => {
        const t1 = await tlsOver(await dial(port.lb!, h.bytes), 'app.test', ['http/1.1']);
        const res = await http1(t1, 'app.test');
        assert.equal(res.status, 200);
        assert.equal((JSON.parse(res.body) as Echo).headers['x-forwarded-for'], h.ip);
        const t2 = await tlsOver(await dial(port.lb!, h.bytes), 'app.test', ['h2']);
        const session = h2connect('https://app.test', { createConnection: () => t2 });
        const body = await new Promise<string>((resolve, reject) => {
          const req = session.request({ ':path': '/who' });
          let text = '';
          req.on('data', (d: Buffer) => {
            text += d.toString();
          });
          req.on('end', () => resolve(text));
          idleTimeout(req, 30_000, `h2 GET /who through port ${port.lb}`);
          req.on('error', reject);
        });
        session.close();
        assert.equal((JSON.parse(body) as Echo).headers['x-real-ip'], h.ip);
      });
      test(`${h.desc}: a TCP route passes ${h.ip} on in its own PROXY header, after ipAllowList let it in`, async () => {
        const before = proxied.connections.length;
        const s = await dial(port.lbtcp!, Buffer.concat([h.bytes, Buffer.from('payload')]));
        assert.equal(
          await withTimeout(
            new Promise((r) => s.once('data', (d: Buffer) => r(d.toString()))),
            30_000,
            '`s` to receive data',
          ),
          'up',
        );
        s.destroy();
        const got = proxied.connections[before]!;
        const parsed = parseProxyHeader(got);
        assert.equal(parsed.status, 'ok');
        if (parsed.status === 'ok') {
          assert.equal(parsed.endpoints?.srcIp, h.ip);
          assert.equal(got.subarray(parsed.length).toString(), 'payload');
        }
      });
    }

    test('ClientIP() rules match the declared address', async () => {
      assert.equal((await http1(await dial(port.lb!, proxyProtocolHeader(1, FOUR)), 'vip.test')).status, 200);
      assert.equal(
        (await http1(await dial(port.lb!, proxyProtocolHeader(1, { ...FOUR, srcIp: '198.51.100.1' })), 'vip.test'))
          .status,
        404,
      );
      assert.equal((await http1(await dial(port.lb!, undefined), 'vip.test')).status, 404);
    });

    test('TCP ipAllowList refuses a declared address outside sourceRange before dialling', async () => {
      const before = proxied.connections.length;
      const s = await dial(
        port.lbtcp!,
        Buffer.concat([proxyProtocolHeader(2, { ...FOUR, srcIp: '198.51.100.1' }), Buffer.from('payload')]),
      );
      await withTimeout(new Promise((r) => s.once('close', r)), 30_000, '`s` to close');
      assert.equal(proxied.connections.length, before);
    });

    test('the access log shows the declared client', async () => {
      assert.equal(
        (await http1(await dial(port.lb!, proxyProtocolHeader(2, { ...FOUR, srcPort: 40404 })), 'app.test')).status,
        200,
      );
      const lines = (): Record<string, unknown>[] =>
        existsSync(logPath)
          ? readFileSync(logPath, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as Record<string, unknown>)
          : [];
      await waitUntil(() => lines().some((l) => l.ClientPort === '40404'), 'the access-log line');
      const line = lines().find((l) => l.ClientPort === '40404')!;
      assert.equal(line.ClientHost, FOUR.srcIp);
      assert.equal(line.ClientAddr, `${FOUR.srcIp}:40404`);
    });

    const broken = [
      { desc: 'garbage after the v1 signature', bytes: Buffer.from('PROXY GARBAGE\r\n') },
      {
        desc: 'garbage after the v2 signature',
        bytes: Buffer.concat([proxyProtocolHeader(2, FOUR).subarray(0, 12), Buffer.from('garbage!')]),
      },
    ];
    for (const b of broken) {
      test(`${b.desc}: the connection is closed without an answer`, async () => {
        const s = await dial(port.lb!, b.bytes);
        assert.equal(await answerOf(s, 'GET / HTTP/1.1\r\nHost: app.test\r\n\r\n'), '');
      });
    }
    test('a truncated header: the connection is closed when the balancer ends it', async () => {
      const s = await dial(port.lb!, proxyProtocolHeader(2, FOUR).subarray(0, 20));
      s.end();
      assert.equal(await answerOf(s), '');
    });
  });

  test("an untrusted peer's PROXY header is data: HTTP answers 400, no address is taken", async () => {
    const res = await http1(await dial(port.lb!, proxyProtocolHeader(1, FOUR), '127.0.0.2'), 'app.test');
    assert.equal(res.status, 400);
    const plain = await http1(await dial(port.lb!, undefined, '127.0.0.2'), 'app.test');
    assert.equal((JSON.parse(plain.body) as Echo).headers['x-real-ip'], '127.0.0.2');
  });
});
