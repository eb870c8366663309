import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { ServicePool } from '../../src/http/service-builder.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { answers, raw, startProxy } from '../engine/harness.ts';
import { tempDir } from '../helpers/temp.ts';

const ca = buildCertificate({ commonName: 'transport test CA', isCA: true });
const issuer = { commonName: 'transport test CA', key: ca.key };
const serverCert = buildCertificate({ commonName: 'upstream.test', dnsNames: ['upstream.test'], issuer });
const clientCert = buildCertificate({ commonName: 'berth-client', issuer, clientAuth: true });

describe('serversTransports: rootCAs and client certificates (mutual TLS to servers)', () => {
  let server: Server;
  let url = '';
  const dir = tempDir('berth-transport-');

  before(async () => {
    // The server requires a client certificate signed by the CA.
    server = createHttpsServer(
      { key: serverCert.key, cert: serverCert.cert, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        const body = `client=${peer.subject?.CN ?? ''}`;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    writeFileSync(join(dir, 'client.crt'), clientCert.cert);
    writeFileSync(join(dir, 'client.key'), clientCert.key);
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const cases = [
    {
      desc: "certificates from files: the server sees berth's client certificate",
      certificates: () => [{ certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') }],
      status: 200,
    },
    {
      desc: 'certificates as PEM content',
      certificates: () => [{ certFile: clientCert.cert, keyFile: clientCert.key }],
      status: 200,
    },
    { desc: 'no certificate: the server refuses the handshake (502)', certificates: () => undefined, status: 502 },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const pool = new ServicePool({});
      const certificates = c.certificates();
      const t = pool.transport('mtls@file', {
        rootCAs: [ca.cert],
        serverName: 'upstream.test',
        ...(certificates ? { certificates } : {}),
      });
      assert.ok(!('error' in t));
      const p = await startProxy(url, t);
      try {
        const r = await raw(p.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', answers(1));
        assert.deepEqual(r.statuses, [c.status]);
        if (c.status === 200) assert.ok(r.text.endsWith('client=berth-client'));
      } finally {
        await p.close();
        pool.close();
      }
    });
  }

  test("the static serversTransport rootCAs are used when the service's transport names none", async () => {
    const pool = new ServicePool({ rootCAs: [ca.cert] });
    const t = pool.transport(undefined, {
      serverName: 'upstream.test',
      certificates: [{ certFile: clientCert.cert, keyFile: clientCert.key }],
    });
    assert.ok(!('error' in t));
    const p = await startProxy(url, t);
    try {
      assert.deepEqual((await raw(p.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', answers(1))).statuses, [200]);
    } finally {
      await p.close();
      pool.close();
    }
  });

  test('an unreadable certificate file makes the transport an error, not a crash', () => {
    const pool = new ServicePool({});
    const t = pool.transport('bad@file', {
      certificates: [{ certFile: join(dir, 'missing.crt'), keyFile: join(dir, 'missing.key') }],
    });
    assert.ok('error' in t);
    assert.match(t.error, /serversTransport certificates .*missing\.crt/);
    pool.close();
  });
});
