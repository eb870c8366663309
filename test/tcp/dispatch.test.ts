import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import {
  closeAll,
  defaultLimits,
  echoServer,
  exchange,
  fakeTlsSource,
  fragmentingProxy,
  listen,
  readUntil,
  recordingHandoff,
  selfSigned,
  startEntrypoint,
  track,
} from './harness.ts';
import { withTimeout } from '../helpers/with-timeout.ts';

const webPair = selfSigned('web.example.com');
const dbPair = selfSigned('db.example.com');
const termPair = selfSigned('term.example.com');

function tcpConfig(
  routers: NonNullable<DynamicConfig['tcp']>['routers'],
  servers: Record<string, number[] | { ports: number[]; proxy?: number }>,
): DynamicConfig {
  const services: NonNullable<NonNullable<DynamicConfig['tcp']>['services']> = {};
  for (const [name, s] of Object.entries(servers)) {
    const ports = Array.isArray(s) ? s : s.ports;
    services[name] = {
      loadBalancer: {
        servers: ports.map((p) => ({ address: `127.0.0.1:${p}` })),
        ...(!Array.isArray(s) && s.proxy ? { proxyProtocol: { version: s.proxy } } : {}),
      },
    };
  }
  return { tcp: { routers: routers ?? {}, services } };
}

/** A TLS backend that answers with its name; its certificate is its own. */
async function tlsBackend(
  pair: { key: string; cert: string },
  answer: string,
): Promise<{ server: ReturnType<typeof createTlsServer>; port: number }> {
  const server = createTlsServer(pair, (s: TLSSocket) => {
    s.on('error', () => undefined);
    s.end(answer);
  });
  track(server);
  return { server, port: await listen(server) };
}

function tlsGet(
  port: number,
  servername: string,
  ca?: string,
): Promise<{ text: string; subject: string | undefined; error?: string }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...(ca ? { ca } : {}) });
    let text = '';
    let subject: string | undefined;
    let error: string | undefined;
    s.on('secureConnect', () => {
      subject = String(s.getPeerCertificate().subject?.CN);
    });
    s.on('data', (d: Buffer) => {
      text += d.toString();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    s.on('close', () => resolve({ text, subject, ...(error ? { error } : {}) }));
  });
}

describe('dispatch: plain TCP', () => {
  const handoff = recordingHandoff(webPair);
  after(() => handoff.close());

  test('server-first protocol: greeting arrives without the client sending anything', async () => {
    const greeter = createServer((s) => {
      s.on('error', () => undefined);
      s.end('220 hello\r\n');
    });
    track(greeter);
    const gport = await listen(greeter);
    const ep = await startEntrypoint(
      tcpConfig({ 'db@file': { rule: 'HostSNI(`*`)', service: 'db@file' } }, { 'db@file': [gport] }),
      { handoff },
    );
    const res = await exchange(ep.port, undefined, { end: false });
    assert.equal(res.data, '220 hello\r\n');
    await closeAll(ep.server, greeter);
  });

  test('half-close: request then FIN, the answer still comes back', async () => {
    // A backend that answers only after the client has finished sending.
    const backend = createServer({ allowHalfOpen: true }, (s) => {
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
      });
      s.on('end', () => setTimeout(() => s.end(`got:${got}`), 30));
      s.on('error', () => undefined);
    });
    track(backend);
    const bport = await listen(backend);
    const ep = await startEntrypoint(
      tcpConfig({ 'r@file': { rule: 'HostSNI(`*`)', service: 's@file' } }, { 's@file': [bport] }),
      { handoff },
    );
    const res = await exchange(ep.port, 'ping');
    assert.equal(res.data, 'got:ping');
    await closeAll(ep.server, backend);
  });

  test('half-close the other way: the backend ends first, the client can still send', async () => {
    const backend = createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      s.end('bye-first ');
      s.on('data', () => undefined);
    });
    track(backend);
    const bport = await listen(backend);
    const ep = await startEntrypoint(
      tcpConfig({ 'r@file': { rule: 'HostSNI(`*`)', service: 's@file' } }, { 's@file': [bport] }),
      { handoff },
    );
    const s = connect({ host: '127.0.0.1', port: ep.port, allowHalfOpen: true });
    const ended = new Promise<string>((r) => {
      let t = '';
      s.on('data', (d: Buffer) => {
        t += d;
      });
      s.on('end', () => r(t));
    });
    assert.equal(await withTimeout(ended, 30_000, `the half-close from ${ep.port}`), 'bye-first ');
    assert.ok(s.writable, 'client can still write after the server half-closed');
    s.end('late');
    await withTimeout(new Promise((r) => s.on('close', r)), 30_000, '`s` to close');
    await closeAll(ep.server, backend);
  });

  test('a backend reset resets the client', async () => {
    const backend = createServer((s) => {
      s.on('data', () => s.resetAndDestroy());
      s.on('error', () => undefined);
    });
    track(backend);
    const bport = await listen(backend);
    const ep = await startEntrypoint(
      tcpConfig({ 'r@file': { rule: 'HostSNI(`*`)', service: 's@file' } }, { 's@file': [bport] }),
      { handoff },
    );
    const res = await exchange(ep.port, 'x', { end: false });
    assert.equal(res.error, 'ECONNRESET');
    await closeAll(ep.server, backend);
  });

  test('a client that vanishes closes the upstream side', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => {
      upstreamClosed = r;
    });
    const backend = createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      s.on('close', () => upstreamClosed());
      s.write('hi');
    });
    track(backend);
    const bport = await listen(backend);
    const ep = await startEntrypoint(
      tcpConfig({ 'r@file': { rule: 'HostSNI(`*`)', service: 's@file' } }, { 's@file': [bport] }),
      { handoff },
    );
    const s = connect({ host: '127.0.0.1', port: ep.port });
    await readUntil(s, (t) => t === 'hi');
    s.resetAndDestroy();
    await closed;
    await closeAll(ep.server, backend);
  });

  test('upstream refused: the client is closed', async () => {
    const dead = createServer();
    const deadPort = await listen(dead);
    await closeAll(dead);
    const ep = await startEntrypoint(
      tcpConfig({ 'r@file': { rule: 'HostSNI(`*`)', service: 's@file' } }, { 's@file': [deadPort] }),
      { handoff },
    );
    const res = await exchange(ep.port, 'x', { end: false });
    assert.equal(res.data, '');
    await closeAll(ep.server);
  });

  test('idle timeout closes a silent relayed connection', async () => {
    const echo = await echoServer();
    const ep = await startEntrypoint(
      tcpConfig({ 'r@file': { rule: 'HostSNI(`*`)', service: 's@file' } }, { 's@file': [echo.port] }),
      { handoff, limits: { ...defaultLimits, idleTimeoutMs: 150 } },
    );
    const res = await exchange(ep.port, 'abc', { end: false });
    assert.equal(res.data, 'abc');
    await closeAll(ep.server, echo.server);
  });

  test('weighted round robin across servers', async () => {
    const a = await echoServer('A');
    const b = await echoServer('B');
    const config: DynamicConfig = {
      tcp: {
        routers: { 'r@file': { rule: 'HostSNI(`*`)', service: 's@file' } },
        services: {
          's@file': {
            loadBalancer: {
              servers: [
                { address: `127.0.0.1:${a.port}`, weight: 1 },
                { address: `127.0.0.1:${b.port}`, weight: 3 },
              ],
            },
          },
        },
      },
    };
    const ep = await startEntrypoint(config, { handoff });
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push((await exchange(ep.port, '')).data);
    assert.equal(seen.filter((x) => x === 'A').length, 2);
    assert.equal(seen.filter((x) => x === 'B').length, 6);
    await closeAll(ep.server, a.server, b.server);
  });

  for (const version of [1, 2] as const) {
    test(`PROXY protocol v${version} header goes first to the upstream`, async () => {
      let first!: (b: Buffer) => void;
      const got = new Promise<Buffer>((r) => {
        first = r;
      });
      const backend = createServer((s) => {
        s.on('error', () => undefined);
        let buf = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.includes('payload')) {
            first(buf);
            s.end();
          }
        });
      });
      track(backend);
      const bport = await listen(backend);
      const ep = await startEntrypoint(
        tcpConfig(
          { 'r@file': { rule: 'HostSNI(`*`)', service: 's@file' } },
          { 's@file': { ports: [bport], proxy: version } },
        ),
        { handoff },
      );
      await exchange(ep.port, 'payload');
      const buf = await got;
      if (version === 1)
        assert.match(
          buf.toString(),
          new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${ep.port}\\r\\npayload$`),
        );
      else {
        assert.equal(buf.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a');
        assert.equal(buf[13], 0x11);
        assert.equal(buf.readUInt16BE(26), ep.port);
        assert.equal(buf.subarray(28).toString(), 'payload');
      }
      await closeAll(ep.server, backend);
    });
  }

  test('non-TLS bytes without a plain router go to the HTTP handoff', async () => {
    const tlsB = await tlsBackend(dbPair, 'db');
    const ep = await startEntrypoint(
      tcpConfig(
        { 'db@file': { rule: 'HostSNI(`db.example.com`)', service: 's@file', tls: { passthrough: true } } },
        { 's@file': [tlsB.port] },
      ),
      { handoff },
    );
    const res = await exchange(ep.port, 'GET / HTTP/1.1\r\n\r\n', { end: false });
    assert.equal(res.data, 'http-handoff');
    await closeAll(ep.server, tlsB.server);
  });
});

describe('dispatch: TLS by SNI', () => {
  const handoff = recordingHandoff(webPair);
  let db: Awaited<ReturnType<typeof tlsBackend>>;
  let ep: Awaited<ReturnType<typeof startEntrypoint>>;
  let plainEcho: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    db = await tlsBackend(dbPair, 'from-db-backend');
    plainEcho = await echoServer();
    const config: DynamicConfig = {
      tcp: {
        routers: {
          'db@file': { rule: 'HostSNI(`db.example.com`)', service: 'db@file', tls: { passthrough: true } },
          'term@file': { rule: 'HostSNI(`term.example.com`)', service: 'echo@file', tls: {} },
        },
        services: {
          'db@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${db.port}` }] } },
          'echo@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${plainEcho.port}` }] } },
        },
      },
    };
    ep = await startEntrypoint(config, {
      handoff,
      tls: fakeTlsSource({ 'term.example.com': termPair }, webPair),
      limits: { ...defaultLimits, peekTimeoutMs: 300, maxHelloBytes: 4096 },
    });
  });
  after(async () => {
    handoff.close();
    await closeAll(ep.server, db.server, plainEcho.server);
  });

  test('passthrough: the client sees the backend certificate', async () => {
    const res = await tlsGet(ep.port, 'db.example.com');
    assert.equal(res.subject, 'db.example.com');
    assert.equal(res.text, 'from-db-backend');
  });

  test('SNI case and trailing dot do not matter', async () => {
    const res = await tlsGet(ep.port, 'DB.Example.com');
    assert.equal(res.subject, 'db.example.com');
  });

  test('another SNI goes to the HTTPS handoff', async () => {
    const res = await tlsGet(ep.port, 'web.example.com');
    assert.equal(res.subject, 'web.example.com');
    assert.equal(res.text, 'https-handoff');
  });

  test('termination: the store certificate, plaintext to the backend', async () => {
    const s = tlsConnect({ host: '127.0.0.1', port: ep.port, servername: 'term.example.com', ca: termPair.cert });
    await new Promise<void>((r, j) => {
      s.once('secureConnect', r);
      s.once('error', j);
    });
    assert.equal(s.getPeerCertificate().subject?.CN, 'term.example.com');
    s.write('plain please');
    assert.equal(await readUntil(s, (t) => t === 'plain please'), 'plain please');
    s.end();
  });

  const fragmentations = [
    { desc: 'one byte per TCP segment', segment: 1, pauseMs: 1 },
    { desc: 'hello split over many TLS records, small segments', recordSizes: [40, 1, 100], segment: 7, pauseMs: 1 },
    { desc: 'hello split over two records in one segment', recordSizes: [60], segment: 100000, pauseMs: 0 },
  ];
  for (const f of fragmentations) {
    test(`${f.desc}: routed by SNI, bytes replayed unchanged`, async () => {
      const proxyOpts = {
        segment: f.segment,
        pauseMs: f.pauseMs,
        ...(f.recordSizes ? { recordSizes: f.recordSizes } : {}),
      };
      const slowEp = await startEntrypoint(
        {
          tcp: {
            routers: {
              'db@file': { rule: 'HostSNI(`db.example.com`)', service: 'db@file', tls: { passthrough: true } },
            },
            services: { 'db@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${db.port}` }] } } },
          },
        },
        { handoff, limits: { ...defaultLimits, peekTimeoutMs: 10_000 } },
      );
      const proxy = await fragmentingProxy(slowEp.port, proxyOpts);
      try {
        const res = await tlsGet(proxy.port, 'db.example.com');
        assert.equal(res.subject, 'db.example.com');
        assert.equal(res.text, 'from-db-backend');
      } finally {
        await closeAll(proxy.server, slowEp.server);
      }
    });
  }

  const bad: { desc: string; bytes: Buffer }[] = [
    { desc: 'garbage after a handshake byte', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x09, 9, 9, 9, 9]) },
    { desc: 'SSLv2-style record version', bytes: Buffer.from([0x16, 0x02, 0x00, 0x00, 0x04, 1, 2, 3, 4]) },
    {
      desc: 'hello larger than the cap',
      bytes: Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc]), Buffer.alloc(5000)]),
    },
  ];
  for (const b of bad) {
    test(`${b.desc}: closed, never routed`, async () => {
      const before = handoff.calls.length;
      const res = await exchange(ep.port, b.bytes, { end: false });
      assert.equal(res.data, '');
      assert.equal(handoff.calls.length, before);
    });
  }

  test('a silent client is closed after the peek timeout while another connection works', async () => {
    const silent = connect({ host: '127.0.0.1', port: ep.port });
    const closed = new Promise<void>((r) => silent.on('close', () => r()));
    silent.on('error', () => undefined);
    const res = await tlsGet(ep.port, 'db.example.com');
    assert.equal(res.text, 'from-db-backend');
    await closed;
  });

  test('a client stalling mid-hello is closed', async () => {
    const s: Socket = connect({ host: '127.0.0.1', port: ep.port });
    s.on('error', () => undefined);
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00, 0x01]));
    await withTimeout(new Promise<void>((r) => s.on('close', () => r())), 30_000, '`s` to close');
  });
});
