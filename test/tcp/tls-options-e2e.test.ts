/**
 * `tcp.routers.*.tls.options` through a berth process: a TCP router that terminates TLS handshakes
 * with the TLS options it names (versions, client authentication), the others with `default`, and
 * one naming options that do not exist is disabled with the reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { createPki, type TestPki } from '../helpers/pki.ts';
import { tempDir } from '../helpers/temp.ts';
import { hasTool, requireIntegration } from '../helpers/tools.ts';

/** Connects with TLS through berth, sends "hi" and resolves with the upstream's answer (or rejects: refused). */
function exchange(port: number, opts: ConnectionOptions): Promise<{ answer: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ...opts }, () => s.write('hi'));
    let answer = '';
    s.on('data', (d: Buffer) => {
      answer += d.toString();
      if (answer === 'up:hi') {
        resolve({ answer, protocol: s.getProtocol() });
        s.destroy();
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed after ${JSON.stringify(answer)}`)));
  });
}

describe('tcp.routers.*.tls.options', { timeout: 60_000 }, () => {
  let berth: BerthProcess | undefined;
  let upstream: Server | undefined;
  let pki: TestPki;
  let port = 0;
  let ca = '';
  let skip = '';

  before(async () => {
    if (!hasTool('openssl')) {
      if (requireIntegration) throw new Error('missing tools: openssl');
      skip = 'openssl missing';
      return;
    }
    upstream = createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => s.write(`up:${d.toString()}`));
    });
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
    const up = (upstream.address() as { port: number }).port;
    pki = createPki('tcp options CA');
    ca = readFileSync(pki.ca, 'utf8');
    const server = pki.issue('tcp-server', 'DNS:*.example.com');
    const dir = tempDir('berth-tcp-options-');
    const dyn = join(dir, 'dynamic.yaml');
    const router = (host: string, options?: string) => ({
      rule: `HostSNI(\`${host}\`)`,
      entryPoints: ['tcp'],
      service: 'up',
      tls: options ? { options } : {},
    });
    writeFileSync(
      dyn,
      stringify({
        tcp: {
          routers: {
            modern: router('modern.example.com', 'modern'),
            legacy: router('legacy.example.com'),
            mtls: router('mtls.example.com', 'mtls'),
            typo: router('typo.example.com', 'modren'),
          },
          services: { up: { loadBalancer: { servers: [{ address: `127.0.0.1:${up}` }] } } },
        },
        tls: {
          certificates: [{ certFile: server.cert, keyFile: server.key }],
          options: {
            modern: { minVersion: 'VersionTLS13' },
            mtls: { clientAuth: { caFiles: [pki.ca], clientAuthType: 'RequireAndVerifyClientCert' } },
          },
        },
      }),
    );
    port = await freePort();
    berth = await startBerth({
      dir,
      config: {
        entryPoints: { tcp: { address: `127.0.0.1:${port}` } },
        providers: { file: { filename: dyn, watch: false } },
      },
      timeoutMs: 60_000,
    });
    await waitUntil(
      async () => (await exchange(port, { servername: 'legacy.example.com', ca })).answer === 'up:hi',
      'the TCP routers to be served',
    );
  });

  after(async () => {
    await berth?.stop();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  test('minVersion TLS 1.3: a TLS 1.2 client is refused, a TLS 1.3 client reaches the upstream', async (t) => {
    if (skip) return t.skip(skip);
    await assert.rejects(
      exchange(port, { servername: 'modern.example.com', ca, maxVersion: 'TLSv1.2' }),
      /protocol version|alert|closed|ECONNRESET/,
    );
    assert.deepEqual(await exchange(port, { servername: 'modern.example.com', ca }), {
      answer: 'up:hi',
      protocol: 'TLSv1.3',
    });
  });

  test('a router naming no options handshakes with the default ones: TLS 1.2 accepted, with the ECDSA certificate of its name (not the RSA default)', async (t) => {
    if (skip) return t.skip(skip);
    assert.deepEqual(await exchange(port, { servername: 'legacy.example.com', ca, maxVersion: 'TLSv1.2' }), {
      answer: 'up:hi',
      protocol: 'TLSv1.2',
    });
  });

  test('clientAuth RequireAndVerifyClientCert: no certificate or one from another CA is refused; one from caFiles is let through', async (t) => {
    if (skip) return t.skip(skip);
    await assert.rejects(exchange(port, { servername: 'mtls.example.com', ca }));
    const stranger = createPki('stranger CA').issue('stranger', 'DNS:stranger');
    await assert.rejects(
      exchange(port, {
        servername: 'mtls.example.com',
        ca,
        cert: readFileSync(stranger.cert),
        key: readFileSync(stranger.key),
      }),
    );
    const client = pki.issue('tcp-client', 'DNS:tcp-client');
    assert.equal(
      (
        await exchange(port, {
          servername: 'mtls.example.com',
          ca,
          cert: readFileSync(client.cert),
          key: readFileSync(client.key),
        })
      ).answer,
      'up:hi',
    );
  });

  test('options that do not exist disable the router with the reason; its connections are not forwarded', async (t) => {
    if (skip) return t.skip(skip);
    const diagnostics = await berth!.api<{ element: string; message: string }[]>('/diagnostics');
    const typo = diagnostics.find((d) => d.element === 'tcp.routers.typo@file');
    assert.match(typo?.message ?? '', /unknown TLS options "modren"/);
    await assert.rejects(exchange(port, { servername: 'typo.example.com', ca }));
  });
});
