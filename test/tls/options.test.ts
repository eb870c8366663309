import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type TLSSocket, type ConnectionOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { CertificateStore } from '../../src/tls/certificate-store.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { compileTlsOptions } from '../../src/tls/compile-tls-options.ts';
import { tlsServerOptions } from '../../src/tls/options.ts';
import type { TlsOptions } from '../../src/config/dynamic/types.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

const ca = buildCertificate({ commonName: 'Options CA', isCA: true });
const leaf = (names: string[]) =>
  buildCertificate({ commonName: names[0] ?? 'x', dnsNames: names, issuer: { commonName: 'Options CA', key: ca.key } });

describe('compileTlsOptions', () => {
  const cases: {
    desc: string;
    input: TlsOptions | undefined;
    check: (c: ReturnType<typeof compileTlsOptions>) => void;
  }[] = [
    {
      desc: 'defaults: TLS 1.2+, h2 and http/1.1',
      input: undefined,
      check: (c) => {
        assert.equal(c.minVersion, 'TLSv1.2');
        assert.deepEqual(c.alpnProtocols, ['h2', 'http/1.1']);
        assert.equal(c.sniStrict, false);
        assert.deepEqual(c.diagnostics, []);
      },
    },
    {
      desc: 'Go cipher names map to OpenSSL names and TLS 1.3 stays on',
      input: { cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305'] },
      check: (c) => {
        assert.equal(
          c.context.ciphers,
          'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
        );
      },
    },
    {
      desc: 'unknown cipher is a warning',
      input: { cipherSuites: ['TLS_NOPE'] },
      check: (c) => {
        assert.equal(c.diagnostics.length, 1);
        assert.equal(c.diagnostics[0]?.level, 'warning');
      },
    },
    {
      desc: 'versions and curves',
      input: { minVersion: 'VersionTLS13', maxVersion: 'VersionTLS13', curvePreferences: ['CurveP521', 'X25519'] },
      check: (c) => {
        assert.equal(c.minVersion, 'TLSv1.3');
        assert.equal(c.maxVersion, 'TLSv1.3');
        assert.equal(c.context.ecdhCurve, 'P-521:X25519');
      },
    },
    {
      desc: 'unknown version is an error diagnostic and the default applies',
      input: { minVersion: 'TLS9' },
      check: (c) => {
        assert.equal(c.minVersion, 'TLSv1.2');
        assert.equal(c.diagnostics[0]?.level, 'error');
      },
    },
    {
      desc: 'client auth with an inline CA defaults to RequireAndVerifyClientCert',
      input: { clientAuth: { caFiles: [ca.cert] } },
      check: (c) => {
        assert.equal(c.clientAuthType, 'RequireAndVerifyClientCert');
        assert.deepEqual(c.context.ca, [ca.cert]);
      },
    },
    {
      desc: 'unreadable CA file and unknown clientAuthType are diagnostics',
      input: { clientAuth: { caFiles: ['/nonexistent/ca.pem'], clientAuthType: 'Maybe' } },
      check: (c) => {
        assert.equal(c.diagnostics.length, 2);
      },
    },
  ];
  for (const c of cases) test(c.desc, () => c.check(compileTlsOptions(c.input)));
});

describe('tlsServerOptions over real handshakes', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  async function serve(store: CertificateStore, options?: TlsOptions): Promise<number> {
    const server = createServer(tlsServerOptions(store, options), (s) => s.end('ok'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }

  function hello(
    port: number,
    opts: ConnectionOptions,
  ): Promise<{ subject: string; alpn: string | false; version: string | null }> {
    return new Promise((resolve, reject) => {
      const s: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
        const raw = s.getPeerX509Certificate();
        resolve({
          subject: raw ? (new X509Certificate(raw.raw).subjectAltName ?? raw.subject) : '',
          alpn: s.alpnProtocol ?? false,
          version: s.getProtocol(),
        });
        s.destroy();
      });
      idleTimeout(s, 30_000, `TLS handshake on ${port}`);
      s.on('error', reject);
    });
  }

  const store = new CertificateStore();
  store.put('a', { ...leaf(['a.example.com']), source: 'file' });
  store.put('w', { ...leaf(['*.example.com']), source: 'file' });

  test('SNI selects exact, wildcard and default certificates', async () => {
    const port = await serve(store);
    assert.equal((await hello(port, { servername: 'a.example.com' })).subject, 'DNS:a.example.com');
    assert.equal((await hello(port, { servername: 'B.example.com.' })).subject, 'DNS:*.example.com');
    const none = await hello(port, {});
    assert.match(none.subject, /TRAEFIK DEFAULT CERT/);
    const deep = await hello(port, { servername: 'x.y.example.com' });
    assert.match(deep.subject, /TRAEFIK DEFAULT CERT/);
  });

  test('the certificate verifies against its CA', async () => {
    const port = await serve(store);
    const r = await hello(port, { servername: 'a.example.com', rejectUnauthorized: true, ca: ca.cert });
    assert.equal(r.subject, 'DNS:a.example.com');
  });

  test('ALPN: server preference h2, then http/1.1; none in common fails', async () => {
    const port = await serve(store);
    assert.equal((await hello(port, { servername: 'a.example.com', ALPNProtocols: ['http/1.1', 'h2'] })).alpn, 'h2');
    assert.equal((await hello(port, { servername: 'a.example.com', ALPNProtocols: ['http/1.1'] })).alpn, 'http/1.1');
    await assert.rejects(hello(port, { servername: 'a.example.com', ALPNProtocols: ['acme-tls/1'] }));
  });

  test('TLS 1.0 and 1.1 are refused by default, 1.2 and 1.3 accepted', async () => {
    const port = await serve(store);
    await assert.rejects(
      hello(port, {
        servername: 'a.example.com',
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    );
    await assert.rejects(
      hello(port, {
        servername: 'a.example.com',
        minVersion: 'TLSv1.1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    );
    assert.equal((await hello(port, { servername: 'a.example.com', maxVersion: 'TLSv1.2' })).version, 'TLSv1.2');
    assert.equal((await hello(port, { servername: 'a.example.com' })).version, 'TLSv1.3');
  });

  test('sniStrict: unknown and missing SNI fail, known names pass', async () => {
    const port = await serve(store, { sniStrict: true });
    assert.equal((await hello(port, { servername: 'a.example.com' })).subject, 'DNS:a.example.com');
    await assert.rejects(hello(port, { servername: 'unknown.test' }));
    await assert.rejects(hello(port, {}));
  });

  test('a TLS-ALPN-01 challenge certificate is served only with acme-tls/1 while active', async () => {
    const s = new CertificateStore();
    const challenge = buildCertificate({ commonName: 'challenge.example.com', dnsNames: ['challenge.example.com'] });
    s.setChallenge('challenge.example.com', challenge);
    const port = await serve(s);
    const r = await hello(port, { servername: 'challenge.example.com', ALPNProtocols: ['acme-tls/1'] });
    assert.equal(r.alpn, 'acme-tls/1');
    assert.equal(r.subject, 'DNS:challenge.example.com');
    s.clearChallenge('challenge.example.com');
    await assert.rejects(hello(port, { servername: 'challenge.example.com', ALPNProtocols: ['acme-tls/1'] }));
  });

  test("TLS 1.3: an ECDSA leaf under an RSA issuer (as Let's Encrypt issues) is served, not the default", async () => {
    const rsaCa = buildCertificate({ commonName: 'RSA CA', isCA: true, keyType: 'rsa' });
    const s = new CertificateStore();
    s.put('le', {
      ...buildCertificate({
        commonName: 'le.example.com',
        dnsNames: ['le.example.com'],
        issuer: { commonName: 'RSA CA', key: rsaCa.key },
      }),
      source: 'acme',
    });
    const port = await serve(s);
    const r = await hello(port, { servername: 'le.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(r.version, 'TLSv1.3');
    assert.equal(r.subject, 'DNS:le.example.com');
  });

  test('certificate swap is picked up by the next handshake', async () => {
    const s = new CertificateStore();
    s.put('a', { ...leaf(['swap.example.com']), source: 'acme' });
    const port = await serve(s);
    const first = await hello(port, { servername: 'swap.example.com' });
    const next = leaf(['swap.example.com', 'extra.example.com']);
    s.put('a', { ...next, source: 'acme' });
    const second = await hello(port, { servername: 'swap.example.com' });
    assert.equal(first.subject, 'DNS:swap.example.com');
    assert.equal(second.subject, 'DNS:swap.example.com, DNS:extra.example.com');
  });
});
