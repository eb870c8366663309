import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { forwardAuthFactory } from '../../../src/http/middlewares/forward-auth.ts';
import { createPki, type TestPki } from '../../helpers/pki.ts';
import { hasTool, needTools } from '../../helpers/tools.ts';
import { echoOf, send, startHarness } from './harness.ts';

/**
 * forwardAuth's `tls` block against a real HTTPS authentication server whose certificate comes
 * from its own CA and which requires a client certificate from that CA: `ca` makes its
 * certificate trusted, `cert` + `key` are the certificate berth presents, `insecureSkipVerify`
 * accepts the server without checking its certificate.
 */

let pki: TestPki | undefined;
let auth: Server | undefined;
let address = '';
/** Subject CN of the client certificate of each request the authentication server answered. */
const clients: string[] = [];

before(async () => {
  if (!hasTool('openssl')) return;
  pki = createPki('forward-auth CA');
  const server = pki.issue('auth-server', 'IP:127.0.0.1,DNS:localhost');
  auth = createServer(
    {
      cert: readFileSync(server.cert),
      key: readFileSync(server.key),
      ca: readFileSync(pki.ca),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const cn = (req.socket as TLSSocket).getPeerX509Certificate()?.subject.replace(/^CN=/, '') ?? '';
      clients.push(cn);
      res.writeHead(200, { 'x-auth-user': cn }).end();
    },
  );
  await new Promise<void>((r) => auth!.listen(0, '127.0.0.1', r));
  address = `https://127.0.0.1:${(auth.address() as AddressInfo).port}/verify`;
});
after(() => new Promise<void>((r) => (auth ? auth.close(() => r()) : r())));

describe('forwardAuth.tls against an HTTPS authentication server that requires client certificates', () => {
  const cases: {
    desc: string;
    tls: (p: TestPki) => Record<string, unknown> | undefined;
    status: number;
    client?: string;
  }[] = [
    {
      desc: 'ca + cert + key: the server is trusted and berth presents its certificate',
      tls: (p) => ({ ca: p.ca, ...p.issue('berth-client', 'DNS:berth-client') }),
      status: 200,
      client: 'berth-client',
    },
    {
      desc: 'ca and cert as inline PEM are taken as well',
      tls: (p) => ({ ca: readFileSync(p.ca, 'utf8'), ...inline(p.issue('inline-client', 'DNS:inline-client')) }),
      status: 200,
      client: 'inline-client',
    },
    {
      desc: 'insecureSkipVerify + cert + key, no ca: the unknown server certificate is accepted',
      tls: (p) => ({ insecureSkipVerify: true, ...p.issue('skip-client', 'DNS:skip-client') }),
      status: 200,
      client: 'skip-client',
    },
    {
      desc: 'cert + key without ca: the server certificate is not trusted (500, the service is not reached)',
      tls: (p) => ({ ...p.issue('untrusting-client', 'DNS:untrusting-client') }),
      status: 500,
    },
    { desc: 'no tls block: the server certificate is not trusted (500)', tls: () => undefined, status: 500 },
    {
      desc: 'ca without cert/key: the server refuses the client without a certificate (500)',
      tls: (p) => ({ ca: p.ca }),
      status: 500,
    },
    {
      desc: 'a client certificate from another CA is refused by the server (500)',
      tls: (p) => ({ ca: p.ca, ...createPki('other CA').issue('stranger', 'DNS:stranger') }),
      status: 500,
    },
  ];
  for (const c of cases) {
    test(c.desc, async (t) => {
      if (!needTools(t, 'openssl') || !pki) return;
      const tls = c.tls(pki);
      const h = await startHarness(forwardAuthFactory, {
        address,
        authResponseHeaders: ['X-Auth-User'],
        ...(tls ? { tls } : {}),
      });
      const before = clients.length;
      try {
        const r = await send(h.port, { path: '/app' });
        assert.equal(r.status, c.status, r.text);
        if (c.client) {
          assert.equal(
            echoOf(r).headers['x-auth-user'],
            c.client,
            'the service sees the user the server derived from the client certificate',
          );
          assert.deepEqual(clients.slice(before), [c.client]);
        } else {
          assert.deepEqual(clients.slice(before), [], 'the authentication server answered nothing');
        }
      } finally {
        await h.close();
      }
    });
  }
});

function inline(f: { cert: string; key: string }): { cert: string; key: string } {
  return { cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8') };
}
