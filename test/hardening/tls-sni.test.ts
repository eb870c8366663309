import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.ts';
import { needTools } from '../helpers/tools.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import {
  assertRecovered,
  exchange,
  responses,
  startEdge,
  testPki,
  waitForRoute,
  waitUntil,
  type Edge,
} from './harness.ts';
import { idleTimeout, withTimeout } from '../helpers/with-timeout.ts';

const pki = testPki();

/** The subjectAltName of the certificate berth presents for `servername` (undefined: none sent). */
function presented(port: number, servername: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const opts: ConnectionOptions = { host: '127.0.0.1', port, rejectUnauthorized: false };
    if (servername !== undefined) opts.servername = servername;
    const s = tlsConnect(opts, () => {
      const peer = s.getPeerX509Certificate();
      resolve(peer?.subjectAltName ?? peer?.subject ?? '');
      s.destroy();
    });
    s.on('error', reject);
  });
}

describe('hardening: TLS and SNI', { timeout: 90_000 }, () => {
  let up: RecordingUpstream;
  let edge: Edge;
  let port: number;
  let dynamic: Record<string, any>;

  before(async () => {
    up = await startRecordingUpstream();
    const a = pki.leaf(['a.example.com']);
    const wild = pki.leaf(['*.example.com']);
    const open = pki.leaf(['open.test']);
    const secure = pki.leaf(['secure.test']);
    edge = await startEdge({
      entrypoints: { websecure: {} },
      static: { limits: { handshakeTimeout: '1s', clientHelloTimeout: '1s' } },
      dynamic: {},
    });
    writeFileSync(join(edge.dir, 'ca.pem'), pki.ca.cert);
    dynamic = {
      http: {
        routers: {
          a: { rule: 'Host(`a.example.com`)', service: 'rec', tls: {} },
          any: { rule: 'HostRegexp(`^.+\\.example\\.com$`)', service: 'rec', tls: {} },
          open: { rule: 'Host(`open.test`)', service: 'rec', tls: {} },
          secure: { rule: 'Host(`secure.test`)', service: 'rec', tls: { options: 'mtls' } },
          // Options that do not exist: the router is served with the default ones.
          ghost: { rule: 'Host(`ghost.test`)', service: 'rec', tls: { options: 'nope' } },
        },
        services: { rec: { loadBalancer: { servers: [{ url: up.url }] } } },
      },
      tls: {
        certificates: [a, wild, open, secure].map((c) => ({ certFile: c.cert, keyFile: c.key })),
        options: {
          mtls: { clientAuth: { clientAuthType: 'RequireAndVerifyClientCert', caFiles: [join(edge.dir, 'ca.pem')] } },
        },
      },
    };
    edge.writeDynamic(dynamic);
    port = edge.ports.websecure!;
    await waitForRoute(port, 'open.test', 200, '/', { servername: 'open.test' });
  });

  after(async () => {
    const code = await edge?.berth.stop();
    await up?.close();
    assert.equal(code, 0);
  });

  test('unknown or missing SNI gets the default certificate; case, trailing dot and one-label wildcards', async (t) => {
    const cases = [
      { desc: 'exact name', sni: 'a.example.com', want: /DNS:a\.example\.com/ },
      { desc: 'upper case', sni: 'A.EXAMPLE.COM', want: /DNS:a\.example\.com/ },
      { desc: 'trailing dot', sni: 'a.example.com.', want: /DNS:a\.example\.com/ },
      { desc: 'one label under the wildcard', sni: 'b.example.com', want: /DNS:\*\.example\.com/ },
      { desc: 'two labels: not the wildcard', sni: 'x.b.example.com', notWant: /example\.com|open\.test|secure\.test/ },
      { desc: 'unknown name', sni: 'unknown.test', notWant: /example\.com|open\.test|secure\.test/ },
      { desc: 'no SNI', sni: undefined, notWant: /example\.com|open\.test|secure\.test/ },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const san = await presented(port, c.sni);
        if (c.want) assert.match(san, c.want);
        if (c.notWant) assert.doesNotMatch(san, c.notWant, 'never a customer certificate');
      });
    }
  });

  test('SNI vs Host mismatch across routers with different TLS options → 421, over HTTP/1 and HTTP/2', async (t) => {
    const h1 = async (sni: string, host: string): Promise<number> =>
      (
        await exchange(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, {
          tls: { servername: sni },
          until: responses(1),
        })
      ).status;
    const cases = [
      { desc: 'same name', sni: 'open.test', host: 'open.test', status: 200 },
      { desc: 'same name, other case and dot', sni: 'OPEN.test.', host: 'open.test', status: 200 },
      { desc: 'handshake as open.test, Host of the mTLS router', sni: 'open.test', host: 'secure.test', status: 421 },
      { desc: 'Host with port', sni: 'open.test', host: `secure.test:${port}`, status: 421 },
      { desc: 'different names, same options', sni: 'a.example.com', host: 'open.test', status: 200 },
      {
        desc: 'a router naming options that do not exist has the default ones',
        sni: 'open.test',
        host: 'ghost.test',
        status: 200,
      },
      { desc: '… and a handshake for it is a default one', sni: 'ghost.test', host: 'open.test', status: 200 },
      { desc: "… which is not the mTLS router's", sni: 'ghost.test', host: 'secure.test', status: 421 },
    ];
    for (const c of cases) await t.test(c.desc, async () => assert.equal(await h1(c.sni, c.host), c.status));
    await t.test('HTTP/2 :authority', async () => {
      const session = h2connect(`https://127.0.0.1:${port}`, { servername: 'open.test', rejectUnauthorized: false });
      session.on('error', () => undefined);
      const status = (authority: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = session.request({ ':path': '/', ':authority': authority });
          req.on('response', (h) => {
            resolve(Number(h[':status']));
            req.close();
          });
          idleTimeout(req, 30_000, `h2 GET / for ${authority}`);
          req.on('error', reject);
          req.end();
        });
      try {
        assert.equal(await status('open.test'), 200);
        assert.equal(await status('secure.test'), 421);
      } finally {
        session.destroy();
      }
    });
    assert.ok(!up.requests().some((q) => q.headers.host?.startsWith('secure.test')), 'nothing reached the mTLS router');
  });

  test("a router's TLS options apply at its handshake: the mTLS host asks for and verifies a client certificate, the others do not", async (t) => {
    const client = pki.client('client.test');
    const stranger = buildCertificate({ commonName: 'stranger', clientAuth: true });
    // A certificate of the right CA that is not for clients (serverAuth only) is refused too.
    const serverOnly = pki.leaf(['client.test']);
    const h1 = async (sni: string, host: string, tls: ConnectionOptions = {}): Promise<number> =>
      (
        await exchange(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, {
          tls: { servername: sni, ...tls },
          until: responses(1),
          maxMs: 5000,
        })
      ).status;
    const cases: { desc: string; sni: string; host: string; tls?: ConnectionOptions; status: number }[] = [
      {
        desc: 'mTLS host without a client certificate: no response',
        sni: 'secure.test',
        host: 'secure.test',
        status: 0,
      },
      {
        desc: 'mTLS host with a certificate of another CA: no response',
        sni: 'secure.test',
        host: 'secure.test',
        tls: { key: stranger.key, cert: stranger.cert },
        status: 0,
      },
      {
        desc: 'mTLS host with a server-only certificate of its CA: no response',
        sni: 'secure.test',
        host: 'secure.test',
        tls: { key: serverOnly.key, cert: serverOnly.cert },
        status: 0,
      },
      {
        desc: 'mTLS host with a certificate of its CA',
        sni: 'secure.test',
        host: 'secure.test',
        tls: { key: client.key, cert: client.cert },
        status: 200,
      },
      {
        desc: 'verified as the mTLS host, Host of an open router',
        sni: 'secure.test',
        host: 'open.test',
        tls: { key: client.key, cert: client.cert },
        status: 421,
      },
      { desc: 'open host: no certificate asked for', sni: 'open.test', host: 'open.test', status: 200 },
    ];
    for (const c of cases) await t.test(c.desc, async () => assert.equal(await h1(c.sni, c.host, c.tls), c.status));
    await t.test('only the mTLS host sends a CertificateRequest (openssl s_client)', async (st) => {
      if (!needTools(st, 'openssl')) return;
      const request = (sni: string): string =>
        spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', sni, '-tls1_2'], {
          input: '',
          encoding: 'utf8',
          timeout: 10_000,
        }).stdout;
      assert.match(request('open.test'), /No client certificate CA names sent/);
      assert.match(request('secure.test'), /Acceptable client certificate CA names/);
    });
  });

  test('garbage, plain HTTP, broken and oversized records on the TLS port: closed, never a TLS route', async (t) => {
    const cases = [
      {
        desc: 'plain HTTP for a TLS-only host',
        bytes: 'GET / HTTP/1.1\r\nHost: open.test\r\nConnection: close\r\n\r\n',
      },
      { desc: 'random bytes', bytes: Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]) },
      {
        desc: 'handshake record with a broken hello',
        bytes: Buffer.concat([
          Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04]),
          Buffer.from('junk'),
        ]),
      },
      {
        desc: 'oversized record',
        bytes: Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), Buffer.alloc(65535, 1)]),
      },
      { desc: 'SSLv2-style hello', bytes: Buffer.from('802e0103010015000000100000030000060000040000ff', 'hex') },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const before = up.requests().length;
        const r = await exchange(port, c.bytes, { maxMs: 5000 });
        assert.ok(r.closed, 'connection closed');
        assert.ok(r.status === 0 || r.status === 404 || r.status === 400, `answered ${r.status}`);
        assert.equal(up.requests().length, before, 'nothing forwarded');
      });
    }
    await assertRecovered(edge, 'TLS garbage');
  });

  test('a stalled ClientHello and a stalled handshake are closed after the configured timeouts', async () => {
    // Half a ClientHello, then silence: the SNI peek gives up (limits.clientHelloTimeout).
    const half = await exchange(port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), {
      maxMs: 10_000,
    });
    assert.ok(half.closed, 'partial hello closed');
    // A complete ClientHello, then nothing more from the client: limits.handshakeTimeout.
    const raw = netConnect(port, '127.0.0.1');
    await withTimeout(new Promise<void>((r) => raw.once('connect', () => r())), 30_000, '`raw` to connect');
    let forwarded = 0;
    const gate = new Duplex({
      read() {
        /* fed from raw */
      },
      write(chunk: Buffer, _enc, cb) {
        if (forwarded++ === 0) raw.write(chunk);
        cb();
      },
    });
    raw.on('data', (d: Buffer) => gate.push(d));
    const client = tlsConnect({
      socket: gate as unknown as Socket,
      servername: 'open.test',
      rejectUnauthorized: false,
      maxVersion: 'TLSv1.2',
    });
    client.on('error', () => undefined);
    let closed = false;
    raw.on('close', () => {
      closed = true;
    });
    raw.on('error', () => {
      closed = true;
    });
    await waitUntil(() => closed, 'berth to close the stalled handshake', 10_000);
    client.destroy();
  });

  test('certificate swap under load: no failed handshake; a key that does not match keeps the old pair', async () => {
    let failures = 0;
    let handshakes = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          await presented(port, 'a.example.com');
          handshakes++;
        } catch {
          failures++;
        }
      }
    })();
    const next = pki.leaf(['a.example.com', 'swapped.example.com']);
    dynamic.tls.certificates[0] = { certFile: next.cert, keyFile: next.key };
    edge.writeDynamic(dynamic);
    await waitUntil(async () => /swapped/.test(await presented(port, 'a.example.com')), 'the new certificate', 15_000);
    const other = pki.leaf(['a.example.com', 'mismatch.example.com']);
    const stranger = pki.leaf(['stranger.test']);
    dynamic.tls.certificates[0] = { certFile: other.cert, keyFile: stranger.key };
    edge.writeDynamic(dynamic);
    await waitUntil(
      async () => (await edge.berth.api<any>('/config.json'))?.tls?.certificates?.[0]?.certFile === other.cert || true,
      'the bad pair to be loaded',
    );
    await new Promise((r) => setTimeout(r, 1500));
    running = false;
    await loop;
    assert.ok(handshakes > 10, `${handshakes} handshakes`);
    assert.equal(failures, 0, `${failures} of ${handshakes + failures} handshakes failed during the swaps`);
    const san = await presented(port, 'a.example.com');
    assert.doesNotMatch(san, /mismatch/, 'a certificate whose key does not match is refused');
    assert.match(san, /a\.example\.com/, 'a.example.com still served');
    await assertRecovered(edge, 'certificate swaps');
  });
});
