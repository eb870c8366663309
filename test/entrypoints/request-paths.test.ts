import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.ts';
import { bodies, exchange, responses, startEdge, waitForRoute, type Edge } from '../hardening/harness.ts';

const ALL_ALLOWED = {
  allowEncodedSlash: true,
  allowEncodedBackSlash: true,
  allowEncodedNullCharacter: true,
  allowEncodedSemicolon: true,
  allowEncodedPercent: true,
  allowEncodedQuestionMark: true,
  allowEncodedHash: true,
};

interface Case {
  readonly desc: string;
  readonly ep: 'web' | 'slash' | 'loose';
  readonly host?: string;
  readonly target: string;
  readonly status: number;
  /** The request target the server received (when 200). */
  readonly forwarded?: string;
}

describe('entrypoint paths: normalisation, sanitizePath and encodedCharacters as Traefik v3.7', {
  timeout: 90_000,
}, () => {
  let up: RecordingUpstream;
  let edge: Edge;

  before(async () => {
    up = await startRecordingUpstream();
    const svc = { loadBalancer: { servers: [{ url: up.url }] } };
    edge = await startEdge({
      entrypoints: {
        web: {},
        slash: { http: { encodedCharacters: { allowEncodedSlash: true } } },
        loose: { http: { sanitizePath: false, encodedCharacters: ALL_ALLOWED } },
        trusted: { forwardedHeaders: { trustedIPs: ['127.0.0.1/32'] } },
        proxied: { proxyProtocol: { trustedIPs: ['127.0.0.1/32'] } },
      },
      dynamic: {
        http: {
          routers: {
            rec: { rule: 'Host(`rec.test`)', service: 'rec' },
            space: { rule: 'Host(`paths.test`) && Path(`/foo bar`)', service: 'rec' },
            ab: { rule: 'Host(`paths.test`) && PathPrefix(`/a/b`)', service: 'rec' },
            ip: { rule: 'Host(`ip.test`) && ClientIP(`10.0.0.0/8`)', service: 'rec' },
          },
          services: { rec: svc },
        },
      },
    });
    for (const ep of ['web', 'slash', 'loose', 'trusted'] as const) await waitForRoute(edge.ports[ep]!, 'rec.test');
  });

  after(async () => {
    await edge?.berth.stop();
    await up?.close();
  });

  async function send(
    port: number,
    head: string,
  ): Promise<{ status: number; forwarded: string | undefined; headers: Record<string, string> | undefined }> {
    const r = await exchange(port, head, { until: responses(1), maxMs: 5000 });
    const body = r.status === 200 ? bodies(r.text)[0] : undefined;
    const seen =
      body === undefined ? undefined : (JSON.parse(body) as { target: string; headers: Record<string, string> });
    return { status: r.status, forwarded: seen?.target, headers: seen?.headers };
  }

  const cases: Case[] = [
    { desc: 'defaults: an encoded slash is refused', ep: 'web', target: '/a%2Fb', status: 400 },
    { desc: 'defaults: lower-case %2f too', ep: 'web', target: '/a%2fb', status: 400 },
    { desc: 'defaults: encoded backslash', ep: 'web', target: '/a%5Cb', status: 400 },
    { desc: 'defaults: encoded NUL', ep: 'web', target: '/a%00b', status: 400 },
    { desc: 'defaults: encoded semicolon', ep: 'web', target: '/a%3Bb', status: 400 },
    { desc: 'defaults: encoded percent', ep: 'web', target: '/a%25b', status: 400 },
    { desc: 'defaults: encoded question mark', ep: 'web', target: '/a%3Fb', status: 400 },
    { desc: 'defaults: encoded hash', ep: 'web', target: '/a%23b', status: 400 },
    {
      desc: 'defaults: no router matched: 404 before the encoded characters are judged',
      ep: 'web',
      host: 'nobody.test',
      target: '/a%2Fb',
      status: 404,
    },
    { desc: 'a malformed escape is refused', ep: 'web', target: '/a%zz', status: 400 },
    {
      desc: 'unreserved escapes are decoded, others upper-cased',
      ep: 'web',
      target: '/%7euser/%61/caf%c3%a9',
      status: 200,
      forwarded: '/~user/a/caf%C3%A9',
    },
    {
      desc: 'dot segments and repeated slashes are resolved; a trailing slash stays',
      ep: 'web',
      target: '/a/./b/../c//d/?q=1',
      status: 200,
      forwarded: '/a/c/d/?q=1',
    },
    { desc: 'encoded dots are dot segments', ep: 'web', target: '/a/%2e%2E/b', status: 200, forwarded: '/b' },
    {
      desc: 'routing sees decoded non-reserved characters; the escaped path is forwarded',
      ep: 'web',
      host: 'paths.test',
      target: '/foo%20bar',
      status: 200,
      forwarded: '/foo%20bar',
    },
    { desc: 'allowEncodedSlash: forwarded encoded', ep: 'slash', target: '/a%2fb', status: 200, forwarded: '/a%2Fb' },
    {
      desc: 'allowEncodedSlash: an encoded slash is no separator for routing',
      ep: 'slash',
      host: 'paths.test',
      target: '/a%2Fb',
      status: 404,
    },
    { desc: 'allowEncodedSlash: other characters are still refused', ep: 'slash', target: '/a%3Bb', status: 400 },
    {
      desc: 'sanitizePath false: dot segments and slashes kept',
      ep: 'loose',
      target: '/a/../b//c/.',
      status: 200,
      forwarded: '/a/../b//c/.',
    },
    {
      desc: 'every encodedCharacters option allowed',
      ep: 'loose',
      target: '/x%25y%3Bz%3F%23%5C%00%2F',
      status: 200,
      forwarded: '/x%25y%3Bz%3F%23%5C%00%2F',
    },
  ];

  for (const c of cases) {
    test(c.desc, async () => {
      const r = await send(
        edge.ports[c.ep]!,
        `GET ${c.target} HTTP/1.1\r\nHost: ${c.host ?? 'rec.test'}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(r.status, c.status);
      if (c.forwarded !== undefined) assert.equal(r.forwarded, c.forwarded);
    });
  }

  test('ClientIP matches the connection peer, never X-Forwarded-For (even from a trusted proxy)', async () => {
    const r = await send(
      edge.ports.trusted!,
      'GET / HTTP/1.1\r\nHost: ip.test\r\nX-Forwarded-For: 10.1.2.3\r\nConnection: close\r\n\r\n',
    );
    assert.equal(r.status, 404);
  });

  test('ClientIP matches the client of a trusted PROXY protocol header', async () => {
    const r = await send(
      edge.ports.proxied!,
      'PROXY TCP4 10.1.2.3 127.0.0.1 40000 80\r\nGET /x HTTP/1.1\r\nHost: ip.test\r\nConnection: close\r\n\r\n',
    );
    assert.equal(r.status, 200);
    assert.match(r.headers?.['x-forwarded-for'] ?? '', /10\.1\.2\.3/);
  });

  test('absolute-form: the target authority is the host; an empty one leaves Host; HTTP/1.1 without Host is refused (Go)', async () => {
    const named = await send(
      edge.ports.web!,
      'GET http://rec.test/x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n',
    );
    assert.equal(named.status, 200);
    assert.equal(named.headers?.host, 'rec.test');
    const empty = await send(edge.ports.web!, 'GET http:///y HTTP/1.1\r\nHost: rec.test\r\nConnection: close\r\n\r\n');
    assert.equal(empty.status, 200);
    assert.equal(empty.forwarded, '/y');
    const noHost = await send(edge.ports.web!, 'GET http://rec.test/x HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.equal(noHost.status, 400);
  });
});
