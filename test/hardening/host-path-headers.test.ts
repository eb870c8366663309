import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.ts';
import {
  assertNothingForwarded,
  assertRecovered,
  bodies,
  exchange,
  responses,
  shaUser,
  startEdge,
  waitForRoute,
  type Edge,
} from './harness.ts';

const H = 'Host: rec.test\r\n';

/**
 * How lenient upstream servers may read a forwarded path: decode once, `\` as `/`, strip `;params`,
 * collapse slashes and resolve dot segments. A bypass is any forwarded path that such a server
 * would read as under `/admin` while berth's router did not apply the auth.
 */
function lenientPath(p: string): string {
  let s = p.split('?')[0]!;
  try {
    s = decodeURIComponent(s);
  } catch {
    /* keep */
  }
  s = s
    .replace(/\\/g, '/')
    .split('/')
    .map((seg) => seg.split(';')[0]!)
    .join('/');
  const out: string[] = [];
  for (const seg of s.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

describe('hardening: Host, request target, path and forwarding headers', { timeout: 90_000 }, () => {
  let up: RecordingUpstream;
  let edge: Edge;
  let web: number;
  let trusted: number;

  before(async () => {
    up = await startRecordingUpstream();
    edge = await startEdge({
      entrypoints: { web: {}, trusted: { forwardedHeaders: { trustedIPs: ['127.0.0.1/32'] } } },
      dynamic: {
        http: {
          routers: {
            rec: { rule: 'Host(`rec.test`)', service: 'rec' },
            admin: { rule: 'Host(`rec.test`) && PathPrefix(`/admin`)', service: 'rec', middlewares: ['auth'] },
          },
          middlewares: { auth: { basicAuth: { users: [shaUser('alice', 'secret')] } } },
          services: { rec: { loadBalancer: { servers: [{ url: up.url }] } } },
        },
      },
    });
    web = edge.ports.web!;
    trusted = edge.ports.trusted!;
    await waitForRoute(web, 'rec.test');
    await waitForRoute(web, 'rec.test', 401, '/admin');
  });

  after(async () => {
    const code = await edge?.berth.stop();
    await up?.close();
    assert.equal(code, 0);
  });

  test('bad Host, two Hosts, CONNECT, asterisk-form: refused and nothing upstream', async (t) => {
    const cases = [
      { desc: 'two Host headers', status: 400, bytes: `GET / HTTP/1.1\r\n${H}Host: other.test\r\n\r\n` },
      { desc: 'Host with a space', status: 400, bytes: 'GET / HTTP/1.1\r\nHost: rec test\r\n\r\n' },
      { desc: 'Host with a slash', status: 400, bytes: 'GET / HTTP/1.1\r\nHost: rec.test/x\r\n\r\n' },
      { desc: 'Host with userinfo', status: 400, bytes: 'GET / HTTP/1.1\r\nHost: a@rec.test\r\n\r\n' },
      { desc: 'Host with a port over 65535', status: 400, bytes: 'GET / HTTP/1.1\r\nHost: rec.test:99999\r\n\r\n' },
      { desc: 'Host with a non-numeric port', status: 400, bytes: 'GET / HTTP/1.1\r\nHost: rec.test:8x\r\n\r\n' },
      { desc: 'Host over 255 bytes', status: 400, bytes: `GET / HTTP/1.1\r\nHost: ${'a'.repeat(300)}\r\n\r\n` },
      { desc: 'no Host on HTTP/1.1', status: 400, bytes: 'GET / HTTP/1.1\r\n\r\n' },
      { desc: 'CONNECT', status: 405, bytes: `CONNECT rec.test:80 HTTP/1.1\r\n${H}\r\n` },
      { desc: 'GET *', status: 400, bytes: `GET * HTTP/1.1\r\n${H}\r\n` },
      { desc: 'encoded slash', status: 400, bytes: `GET /admin%2Fx HTTP/1.1\r\n${H}\r\n` },
      { desc: 'encoded backslash', status: 400, bytes: `GET /x/..%5Cadmin HTTP/1.1\r\n${H}\r\n` },
      { desc: 'raw backslash', status: 400, bytes: `GET /x\\..\\admin HTTP/1.1\r\n${H}\r\n` },
      { desc: 'Tomcat-style ..;', status: 400, bytes: `GET /public/..;/admin HTTP/1.1\r\n${H}\r\n` },
      { desc: 'empty path parameter segment', status: 400, bytes: `GET /;x/admin HTTP/1.1\r\n${H}\r\n` },
      { desc: 'encoded ; after a dot segment', status: 400, bytes: `GET /public/..%3b/admin HTTP/1.1\r\n${H}\r\n` },
      { desc: 'encoded NUL', status: 400, bytes: `GET /admin%00 HTTP/1.1\r\n${H}\r\n` },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const before = up.requests().length;
        const r = await exchange(web, c.bytes, { maxMs: 5000 });
        assert.equal(r.status, c.status, r.text.slice(0, 120));
        assert.ok(r.closed, 'connection closed after the refusal');
        await assertNothingForwarded(web, 'rec.test', up, before, c.desc);
      });
    }
  });

  test('absolute-form never makes berth an open proxy', async () => {
    const before = up.requests().length;
    const r = await exchange(web, `GET http://evil.test/steal HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, {
      until: responses(1),
    });
    assert.equal(r.status, 404, "a foreign authority is looked up in berth's own routes, nothing else");
    const r2 = await exchange(web, `GET http://127.0.0.1:${up.port}/steal HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, {
      until: responses(1),
    });
    assert.equal(r2.status, 404, "not even the upstream's own address");
    await assertNothingForwarded(web, 'rec.test', up, before, 'absolute-form');
    const r3 = await exchange(
      web,
      `GET http://REC.test./x?q=1 HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n`,
      { until: responses(1) },
    );
    assert.equal(r3.status, 200);
    const seen = JSON.parse(bodies(r3.text)[0]!);
    assert.equal(seen.target, '/x?q=1', 'origin-form upstream');
    assert.equal(seen.headers.host, 'REC.test.', 'the target authority replaces Host');
  });

  test('Host compare uses one normal form (case, trailing dot, port)', async () => {
    for (const host of ['REC.TEST', 'rec.test.', 'Rec.Test.:80', `rec.test:${web}`]) {
      const r = await exchange(web, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, {
        until: responses(1),
      });
      assert.equal(r.status, 200, host);
      const r2 = await exchange(web, `GET /admin HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, {
        until: responses(1),
      });
      assert.equal(r2.status, 401, `${host}: the auth router matches the same normal form`);
    }
  });

  test('no path spelling reaches /admin without the basicAuth router', async (t) => {
    const paths = [
      '/admin',
      '/admin/',
      '/admin/x',
      '//admin',
      '///admin/x',
      '/./admin',
      '/x/../admin',
      '/x/%2e%2e/admin',
      '/x/%2E%2e/admin/y',
      '/%2e/admin',
      '/%61dmin',
      '/adm%69n/',
      '/x/./../admin',
      '/public/../../admin',
      '/admin;x=1',
      '/admin;/x',
      '/admin/..;x/',
      '/admin#frag',
      '/public#/../admin',
      '/public?/../admin',
      '/%2fadmin',
      '/x/..%2fadmin',
      '/.%2e/admin',
      '/x/.%2E/admin',
    ];
    for (const p of paths) {
      await t.test(p, async () => {
        const before = up.requests().length;
        const r = await exchange(web, `GET ${p} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, {
          until: responses(1),
          maxMs: 5000,
        });
        assert.ok([400, 401, 404].includes(r.status) || r.status === 200, `${p}: ${r.status}`);
        const got = up.requests().slice(before);
        if (r.status === 200) {
          assert.equal(got.length, 1);
          const forwarded = got[0]!.target;
          assert.ok(!lenientPath(forwarded).startsWith('/admin'), `${p} bypassed auth: forwarded as ${forwarded}`);
        } else {
          assert.equal(got.length, 0, `${p}: refused but forwarded`);
        }
      });
    }
    // With credentials the canonical path is what is forwarded.
    const auth = Buffer.from('alice:secret').toString('base64');
    const ok = await exchange(
      web,
      `GET /x/%2e%2e/admin//panel HTTP/1.1\r\n${H}Authorization: Basic ${auth}\r\nConnection: close\r\n\r\n`,
      { until: responses(1) },
    );
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(bodies(ok.text)[0]!).target, '/admin/panel');
  });

  test('Connection tokens cannot remove the headers berth adds; token matching ignores case', async () => {
    up.reset();
    const r = await exchange(
      web,
      `GET / HTTP/1.1\r\n${H}Connection: close, X-Forwarded-For, x-real-ip, X-FORWARDED-PROTO, X-Forwarded-Host, X-Forwarded-Port, Host, X-Custom\r\nX-Custom: gone\r\nX-Kept: yes\r\n\r\n`,
      { until: responses(1) },
    );
    assert.equal(r.status, 200);
    const h = up.requests()[0]!.headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'rec.test');
    assert.equal(h['x-forwarded-port'], String(web));
    assert.equal(h.host, 'rec.test');
    assert.equal(h['x-custom'], undefined, 'named in Connection (different case) → removed');
    assert.equal(h['x-kept'], 'yes');
    for (const hop of ['keep-alive', 'te', 'trailer', 'proxy-connection', 'upgrade'])
      assert.equal(h[hop], undefined, hop);
  });

  test("forwarding headers from an untrusted peer are stripped (aliases and Forwarded too); a trusted peer's chain is appended", async () => {
    const spoof =
      'X-Forwarded-For: 6.6.6.6\r\nX_Forwarded_For: 6.6.6.6\r\nx_real_ip: 6.6.6.6\r\nX-Real-Ip: 6.6.6.6\r\nForwarded: for=6.6.6.6;proto=https\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\nX-Forwarded-Prefix: /evil\r\nX-Forwarded-Tls-Client-Cert: forged\r\n';
    up.reset();
    await exchange(web, `GET / HTTP/1.1\r\n${H}${spoof}Connection: close\r\n\r\n`, { until: responses(1) });
    const h = up.requests()[0]!.headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'rec.test');
    for (const gone of [
      'x_forwarded_for',
      'x_real_ip',
      'forwarded',
      'x-forwarded-prefix',
      'x-forwarded-tls-client-cert',
    ])
      assert.equal(h[gone], undefined, gone);
    const wire = up.connections.map((c) => c.received().toString('latin1')).join('');
    assert.ok(!wire.includes('6.6.6.6') && !wire.includes('evil'), 'no spoofed value anywhere on the wire');

    up.reset();
    await waitForRoute(trusted, 'rec.test');
    up.reset();
    await exchange(
      trusted,
      `GET / HTTP/1.1\r\n${H}X-Forwarded-For: 6.6.6.6, 7.7.7.7\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n`,
      { until: responses(1) },
    );
    const ht = up.requests()[0]!.headers;
    assert.equal(ht['x-forwarded-for'], '6.6.6.6, 7.7.7.7, 127.0.0.1', 'trusted chain appended');
    assert.equal(ht['x-forwarded-proto'], 'https', 'trusted proto kept');
    await assertRecovered(edge, 'header abuse');
  });

  test('an upstream answer with invalid framing → 502 and that upstream socket is never reused', async (t) => {
    for (const script of ['invalid-framing', 'bad-length'] as const) {
      await t.test(script, async () => {
        up.reset();
        up.script = script;
        const r = await exchange(web, `GET /bad HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, {
          until: responses(1),
          maxMs: 5000,
        });
        assert.equal(r.status, 502, r.text.slice(0, 200));
        assert.ok(!r.text.includes('hello'), 'no byte of the broken answer reaches the client');
        const bad = up.connections.find((c) => c.requests.some((q) => q.target === '/bad'))!;
        up.script = 'valid';
        for (let i = 0; i < 3; i++) {
          const ok = await exchange(web, `GET /after HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, {
            until: responses(1),
          });
          assert.equal(ok.status, 200);
        }
        assert.equal(bad.requests.length, 1, 'the broken connection carried nothing else');
        assert.ok(bad.closed, 'and berth closed it');
      });
    }
    up.script = 'valid';
    await assertRecovered(edge, 'invalid upstream framing');
  });
});
