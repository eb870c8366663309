import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { connect as h2Connect } from 'node:http2';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort } from '../helpers/net.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

const ca = buildCertificate({ commonName: 'berth e2e CA', isCA: true });
const leaf = (names: string[]) =>
  buildCertificate({
    commonName: names[0] ?? 'x',
    dnsNames: names,
    issuer: { commonName: 'berth e2e CA', key: ca.key },
  });

interface Hello {
  san: string;
  alpn: string | false;
  version: string | null;
  authorized: boolean;
}

function hello(port: number, opts: ConnectionOptions): Promise<Hello> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: ca.cert, rejectUnauthorized: false, ...opts }, () => {
      const peer = s.getPeerX509Certificate();
      resolve({
        san: peer?.subjectAltName ?? peer?.subject ?? '',
        alpn: s.alpnProtocol ?? false,
        version: s.getProtocol(),
        authorized: s.authorized,
      });
      s.destroy();
    });
    idleTimeout(s, 30_000, `TLS handshake on ${port}`);
    s.on('error', reject);
  });
}

describe('berth TLS entrypoint: SNI selection, ALPN and protocol versions', { timeout: 60_000 }, () => {
  let berth: BerthProcess;
  let websecure: number;
  let upstreamPort: number;
  const upstream = createServer((req, res) => res.end(`upstream saw ${req.headers.host}`));

  before(async () => {
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as AddressInfo).port;
    const dir = tempDir('berth-tls-e2e-');
    const exact = leaf(['app.example.com']);
    const wild = leaf(['*.example.com']);
    writeFileSync(join(dir, 'app.crt'), exact.cert);
    writeFileSync(join(dir, 'app.key'), exact.key);
    writeFileSync(
      join(dir, 'dynamic.yaml'),
      stringify({
        http: {
          routers: {
            app: {
              rule: 'Host(`app.example.com`) || Host(`other.example.com`)',
              service: 'up',
              entryPoints: ['websecure'],
              tls: {},
            },
          },
          services: { up: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${upstreamPort}` }] } } },
        },
        tls: {
          certificates: [
            { certFile: join(dir, 'app.crt'), keyFile: join(dir, 'app.key') },
            { certFile: wild.cert, keyFile: wild.key },
          ],
        },
      }),
    );
    websecure = await freePort();
    berth = await startBerth({
      dir,
      config: {
        entryPoints: { websecure: { address: `127.0.0.1:${websecure}` } },
        providers: { file: { filename: join(dir, 'dynamic.yaml'), watch: false } },
      },
    });
  });

  after(async () => {
    await berth?.stop();
    upstream.close();
  });

  test('SNI: exact, wildcard and default certificates', async () => {
    // The file provider loads asynchronously; the exact certificate shows when it has applied.
    let exact: Hello | undefined;
    for (let i = 0; i < 100; i++) {
      exact = await hello(websecure, { servername: 'app.example.com' });
      if (exact.san === 'DNS:app.example.com') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(exact?.san, 'DNS:app.example.com');
    assert.equal(exact?.authorized, true);
    assert.equal((await hello(websecure, { servername: 'OTHER.example.com.' })).san, 'DNS:*.example.com');
    assert.match((await hello(websecure, { servername: 'a.b.example.com' })).san, /TRAEFIK DEFAULT CERT/);
    assert.match((await hello(websecure, {})).san, /TRAEFIK DEFAULT CERT/);
  });

  test('ALPN: h2 preferred, http/1.1 on request; both carry requests', async () => {
    assert.equal(
      (await hello(websecure, { servername: 'app.example.com', ALPNProtocols: ['http/1.1', 'h2'] })).alpn,
      'h2',
    );
    assert.equal(
      (await hello(websecure, { servername: 'app.example.com', ALPNProtocols: ['http/1.1'] })).alpn,
      'http/1.1',
    );
    const session = h2Connect(`https://127.0.0.1:${websecure}`, {
      servername: 'app.example.com',
      ca: ca.cert,
      checkServerIdentity: () => undefined,
    });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/', ':authority': 'app.example.com' });
        let out = '';
        req.on('data', (c: Buffer) => {
          out += c.toString();
        });
        req.on('end', () => resolve(out));
        idleTimeout(req, 30_000, `h2 GET / on ${websecure}`);
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, 'upstream saw app.example.com');
    } finally {
      session.close();
    }
  });

  test('TLS 1.0 and 1.1 are refused; 1.2 and 1.3 accepted', async () => {
    await assert.rejects(
      hello(websecure, {
        servername: 'app.example.com',
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    );
    await assert.rejects(
      hello(websecure, {
        servername: 'app.example.com',
        minVersion: 'TLSv1.1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    );
    assert.equal((await hello(websecure, { servername: 'app.example.com', maxVersion: 'TLSv1.2' })).version, 'TLSv1.2');
    assert.equal((await hello(websecure, { servername: 'app.example.com' })).version, 'TLSv1.3');
  });
});
