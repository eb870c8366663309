import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect as h2Connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort } from '../helpers/net.ts';
import { createPki } from '../helpers/pki.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

interface Presented {
  fingerprint256: string;
  keyType: string | undefined;
  curve: string | undefined;
  subject: string;
  version: string | null;
  alpn: string | false;
}

/** The certificate berth presents to a client with `opts` (servername, versions, ALPN). */
function presented(port: number, opts: ConnectionOptions): Promise<Presented> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const peer = s.getPeerX509Certificate();
      resolve({
        fingerprint256: peer?.fingerprint256 ?? '',
        keyType: peer?.publicKey.asymmetricKeyType,
        curve: peer?.publicKey.asymmetricKeyDetails?.namedCurve,
        subject: peer?.subject ?? '',
        version: s.getProtocol(),
        alpn: s.alpnProtocol ?? false,
      });
      s.destroy();
    });
    idleTimeout(s, 30_000, `TLS handshake on ${port}`);
    s.on('error', reject);
  });
}

describe('berth TLS entrypoint: an ECDSA certificate beside the default RSA one', { timeout: 120_000 }, () => {
  let berth: BerthProcess;
  let port: number;
  let ecdsaFingerprint: string;
  const upstream = createServer((req, res) => res.end(`upstream saw ${req.headers.host}`));

  before(async () => {
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const dir = tempDir('berth-tls-ecdsa-');
    const ecdsa = createPki().issue('ecdsa.test', 'DNS:ecdsa.test');
    ecdsaFingerprint = new X509Certificate(readFileSync(ecdsa.cert)).fingerprint256;
    writeFileSync(
      join(dir, 'dynamic.yaml'),
      stringify({
        http: {
          routers: { ecdsa: { rule: 'Host(`ecdsa.test`)', service: 'up', entryPoints: ['websecure'], tls: {} } },
          services: { up: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${upstreamPort}` }] } } },
        },
        tls: { certificates: [{ certFile: ecdsa.cert, keyFile: ecdsa.key }] },
      }),
    );
    port = await freePort();
    berth = await startBerth({
      dir,
      config: {
        entryPoints: { websecure: { address: `127.0.0.1:${port}` } },
        providers: { file: { filename: join(dir, 'dynamic.yaml'), watch: false } },
      },
    });
    // The file provider applies asynchronously: wait until the name's certificate is served.
    while ((await presented(port, { servername: 'ecdsa.test' })).fingerprint256 !== ecdsaFingerprint) {
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(async () => {
    await berth?.stop();
    upstream.close();
  });

  test('TLS 1.2 and TLS 1.3 clients asking for the name get its ECDSA certificate', async () => {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const p = await presented(port, { servername: 'ecdsa.test', minVersion: maxVersion, maxVersion });
      assert.equal(p.version, maxVersion);
      assert.equal(p.fingerprint256, ecdsaFingerprint, maxVersion);
      assert.equal(p.keyType, 'ec', maxVersion);
      assert.equal(p.curve, 'prime256v1', maxVersion);
    }
  });

  test('a TLS 1.2 client offering only RSA suites is refused rather than served the default certificate', async () => {
    await assert.rejects(
      presented(port, { servername: 'ecdsa.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }),
    );
  });

  test('a client without SNI gets the default RSA certificate', async () => {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const p = await presented(port, { maxVersion });
      assert.equal(p.keyType, 'rsa', maxVersion);
      assert.notEqual(p.fingerprint256, ecdsaFingerprint);
      assert.match(p.subject, /TRAEFIK DEFAULT CERT/);
    }
  });

  test('a TLS 1.2 session with the name resumes from its ticket', async () => {
    const connectOnce = (session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> =>
      new Promise((resolve, reject) => {
        const s = tlsConnect(
          {
            host: '127.0.0.1',
            port,
            servername: 'ecdsa.test',
            maxVersion: 'TLSv1.2',
            rejectUnauthorized: false,
            ...(session ? { session } : {}),
          },
          () => {
            resolve({ reused: s.isSessionReused(), session: s.getSession() });
            s.destroy();
          },
        );
        idleTimeout(s, 30_000, `TLS handshake on ${port}`);
        s.on('error', reject);
      });
    const first = await connectOnce();
    assert.ok(first.session);
    assert.equal((await connectOnce(first.session)).reused, true);
  });

  test('HTTP/1.1 and h2 over TLS 1.2 reach the router with the ECDSA certificate', async () => {
    const h1 = await presented(port, { servername: 'ecdsa.test', maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] });
    assert.equal(h1.alpn, 'http/1.1');
    const session = h2Connect(`https://127.0.0.1:${port}`, {
      servername: 'ecdsa.test',
      maxVersion: 'TLSv1.2',
      rejectUnauthorized: false,
    });
    try {
      const cert = await new Promise<X509Certificate | undefined>((resolve, reject) => {
        session.once('connect', (_s, socket) =>
          resolve((socket as import('node:tls').TLSSocket).getPeerX509Certificate()),
        );
        session.once('error', reject);
      });
      assert.equal(cert?.fingerprint256, ecdsaFingerprint);
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/', ':authority': 'ecdsa.test' });
        let out = '';
        req.on('data', (c: Buffer) => {
          out += c.toString();
        });
        req.on('end', () => resolve(out));
        idleTimeout(req, 30_000, `h2 GET / on ${port}`);
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, 'upstream saw ecdsa.test');
    } finally {
      session.close();
    }
  });
});
