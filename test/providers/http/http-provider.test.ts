import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { HttpProvider } from '../../../src/providers/http/http-provider.ts';
import type { HttpProviderConfig } from '../../../src/config/static/types.ts';
import type { DynamicConfig } from '../../../src/config/dynamic/types.ts';
import { RecordingSink, memoryLogger } from '../file/recording-sink.ts';
import { StubControlPlane, type StubMode } from './stub-control-plane.ts';

const silent = pino({ level: 'silent' });
const TOKEN = 'c0ffee0123456789';
const SEED_TEXT = readFileSync(new URL('../../fixtures/dynamic/seed-004.json', import.meta.url), 'utf8');
const SEED = JSON.parse(SEED_TEXT) as DynamicConfig;

/** A seed-004-shaped answer for one app, distinguishable by slug and worker IP. */
function appConfig(slug: string, ip: string): DynamicConfig {
  return {
    http: {
      routers: {
        [slug]: {
          rule: `Host(\`${slug}.route.example.test\`) || Host(\`${slug}.custom.test\`)`,
          service: slug,
          tls: { certResolver: 'letsencrypt' },
        },
      },
      services: { [slug]: { loadBalancer: { servers: [{ url: `http://${ip}:24207` }] } } },
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function stub(mode?: StubMode): Promise<StubControlPlane> {
  const cp = new StubControlPlane(TOKEN);
  if (mode) cp.mode = mode;
  await cp.listen();
  cleanups.push(() => cp.close());
  return cp;
}

async function startProvider(
  cfg: Partial<HttpProviderConfig> & { endpoint: string },
  opts: { logger?: typeof silent; maxBodyBytes?: number } = {},
): Promise<{ p: HttpProvider; sink: RecordingSink }> {
  const p = new HttpProvider(
    { pollInterval: '50ms', pollTimeout: '2s', headers: { Authorization: `Bearer ${TOKEN}` }, ...cfg },
    { logger: silent, ...opts },
  );
  const sink = new RecordingSink();
  cleanups.push(() => p.stop());
  await p.start(sink);
  return { p, sink };
}

describe('HttpProvider: polling a control plane', () => {
  test('publishes the seed-004 config, sends the bearer token, and does not republish an identical body', async () => {
    const cp = await stub({ kind: 'config', body: SEED_TEXT });
    const { p, sink } = await startProvider({ endpoint: cp.url });
    assert.equal(p.name, 'http');
    const first = await sink.publishNumber(1);
    assert.deepEqual(first.config, SEED);
    assert.deepEqual(first.diagnostics, []);
    await sink.until(() => sink.lastState?.status === 'ok', 'ok');
    assert.equal(cp.requests[0]?.authorization, `Bearer ${TOKEN}`);
    assert.equal(cp.requests[0]?.path, '/v1/traefik/proxy-config');
    // Polls are sequential: once the 4th request arrives, the 2nd and 3rd answers have been handled.
    await cp.until(() => cp.requests.length >= 4, 'four polls');
    assert.equal(sink.publishes.length, 1);
  });

  test('a changed body is applied on the next poll', async () => {
    const cp = await stub({ kind: 'config', body: JSON.stringify(appConfig('one', '127.0.0.2')) });
    const { sink } = await startProvider({ endpoint: cp.url });
    await sink.publishNumber(1);
    cp.mode = { kind: 'config', body: JSON.stringify(appConfig('two', '127.0.0.3')) };
    const second = await sink.publishNumber(2);
    assert.deepEqual(second.config, appConfig('two', '127.0.0.3'));
  });

  test('a wrong token (401) before any success is down, with a hint, and nothing is published', async () => {
    const cp = await stub({ kind: 'config', body: SEED_TEXT });
    const { sink } = await startProvider({ endpoint: cp.url, headers: { Authorization: 'Bearer wrong' } });
    await sink.until(() => sink.lastState?.status === 'down', 'down');
    assert.match(sink.lastState?.error ?? '', /HTTP 401 \(check the Authorization header/);
    assert.equal(sink.publishes.length, 0);
    assert.ok(!(sink.lastState?.error ?? '').includes('wrong'), 'the token never appears in errors');
  });

  test('an unreachable endpoint before any success is down', async () => {
    const cp = await stub();
    const url = cp.url;
    await cp.close();
    const { sink } = await startProvider({ endpoint: url });
    await sink.until(() => sink.lastState?.status === 'down', 'down');
    assert.match(sink.lastState?.error ?? '', /ECONNREFUSED/);
  });

  const half = SEED_TEXT.slice(0, Math.floor(SEED_TEXT.length / 2));
  const failures: {
    desc: string;
    fail: (cp: StubControlPlane) => Promise<void> | void;
    error: RegExp;
    opts?: { pollTimeout?: string; maxBodyBytes?: number };
  }[] = [
    {
      desc: 'the control plane goes down (server closed)',
      fail: (cp) => cp.close(),
      error: /GET http:\/\/127\.0\.0\.1:\d+\/v1\/traefik\/proxy-config: .*ECONNREFUSED/,
    },
    { desc: 'it answers 500', fail: (cp) => void (cp.mode = { kind: 'status', status: 500 }), error: /: HTTP 500$/ },
    {
      desc: 'it answers garbage',
      fail: (cp) =>
        void (cp.mode = { kind: 'raw', body: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html' }),
      error: /expected an object with http, tcp, udp or tls sections, got a string/,
    },
    {
      desc: 'it answers binary garbage',
      fail: (cp) => void (cp.mode = { kind: 'raw', body: '\u0000\u0001\u00ff{{{' }),
      error: /syntax error|got a string/,
    },
    {
      desc: 'it answers truncated JSON',
      fail: (cp) => void (cp.mode = { kind: 'raw', body: half, contentType: 'application/json' }),
      error: /JSON syntax error at line \d+, column \d+/,
    },
    {
      desc: 'the connection is cut mid-body',
      fail: (cp) => void (cp.mode = { kind: 'truncated', body: SEED_TEXT }),
      error: /reading the body|terminated|closed/i,
    },
    {
      desc: 'it answers an empty body',
      fail: (cp) => void (cp.mode = { kind: 'raw', body: '', contentType: 'application/json' }),
      error: /the document is empty/,
    },
    {
      desc: 'it answers JSON that is not an object',
      fail: (cp) => void (cp.mode = { kind: 'config', body: '[]' }),
      error: /got a list/,
    },
    {
      desc: 'it answers JSON null',
      fail: (cp) => void (cp.mode = { kind: 'config', body: 'null' }),
      error: /got null/,
    },
    {
      desc: 'it stops answering (poll timeout)',
      fail: (cp) => void (cp.mode = { kind: 'hang' }),
      error: /no complete answer within 200 ms \(pollTimeout\)/,
      opts: { pollTimeout: '200ms' },
    },
    {
      desc: 'the body is larger than the cap',
      fail: (cp) => void (cp.mode = { kind: 'config', body: JSON.stringify(appConfig('x'.repeat(5000), '127.0.0.9')) }),
      error: /body larger than 4096 bytes/,
      opts: { maxBodyBytes: 4096 },
    },
  ];
  for (const c of failures) {
    test(`${c.desc}: keeps the last good config, reports degraded, recovers on the next poll`, async () => {
      const cp = await stub({ kind: 'config', body: JSON.stringify(appConfig('one', '127.0.0.2')) });
      const cfg: Partial<HttpProviderConfig> & { endpoint: string } = { endpoint: cp.url };
      if (c.opts?.pollTimeout) cfg.pollTimeout = c.opts.pollTimeout;
      const { sink } = await startProvider(cfg, c.opts?.maxBodyBytes ? { maxBodyBytes: c.opts.maxBodyBytes } : {});
      await sink.publishNumber(1);
      await sink.until(() => sink.lastState?.status === 'ok', 'ok');

      await c.fail(cp);
      await sink.until(() => sink.lastState?.status === 'degraded', 'degraded');
      assert.match(sink.lastState?.error ?? '', c.error);
      assert.equal(sink.publishes.length, 1, 'the last good config stays: nothing new published');

      cp.mode = { kind: 'config', body: JSON.stringify(appConfig('two', '127.0.0.3')) };
      if (!cp.listening) await cp.listen();
      const recovered = await sink.publishNumber(2, 'the recovered config');
      assert.deepEqual(recovered.config, appConfig('two', '127.0.0.3'));
      await sink.until(() => sink.lastState?.status === 'ok', 'ok again');
      assert.equal(sink.lastState?.error, undefined);
    });
  }

  test('recovering to the same body as before reports ok without publishing it again', async () => {
    const body = JSON.stringify(appConfig('one', '127.0.0.2'));
    const cp = await stub({ kind: 'config', body });
    const { sink } = await startProvider({ endpoint: cp.url });
    await sink.publishNumber(1);
    cp.mode = { kind: 'status', status: 502 };
    await sink.until(() => sink.lastState?.status === 'degraded', 'degraded');
    cp.mode = { kind: 'config', body };
    await sink.until(() => sink.lastState?.status === 'ok', 'ok again');
    assert.equal(sink.publishes.length, 1);
  });

  test('a failure that persists is logged once, not once per poll', async () => {
    const cp = await stub({ kind: 'config', body: SEED_TEXT });
    const { logger, lines } = memoryLogger();
    const { sink } = await startProvider({ endpoint: cp.url }, { logger });
    await sink.publishNumber(1);
    cp.mode = { kind: 'status', status: 500 };
    const before = cp.requests.length;
    await cp.until(() => cp.requests.length >= before + 5, 'five failing polls');
    assert.equal(lines.filter((l) => l['level'] === 50).length, 1);
    assert.equal(sink.states.filter((s) => s.status === 'degraded').length, 1);
  });

  test('the same bad body repeated stays one state change', async () => {
    const cp = await stub({ kind: 'config', body: SEED_TEXT });
    const { sink } = await startProvider({ endpoint: cp.url });
    await sink.publishNumber(1);
    cp.mode = { kind: 'config', body: '{"http": {' };
    const before = cp.requests.length;
    await cp.until(() => cp.requests.length >= before + 4, 'four bad polls');
    assert.equal(sink.states.filter((s) => s.status === 'degraded').length, 1);
  });
});

describe('HttpProvider: bodies and transport', () => {
  test('YAML by content type', async () => {
    const yaml =
      'http:\n  routers:\n    app:\n      rule: Host(`a.test`) || Host(`b.test`)\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.4:80\n';
    const cp = await stub({ kind: 'config', body: yaml, contentType: 'application/yaml' });
    const { sink } = await startProvider({ endpoint: cp.url });
    const got = await sink.publishNumber(1);
    assert.equal(got.config.http?.routers?.['app']?.rule, 'Host(`a.test`) || Host(`b.test`)');
  });

  test('JSON without a content type is detected', async () => {
    const cp = await stub({ kind: 'raw', body: SEED_TEXT });
    const { sink } = await startProvider({ endpoint: cp.url });
    assert.deepEqual((await sink.publishNumber(1)).config, SEED);
  });

  test('element-level errors in the body: the rest is published with diagnostics, status ok', async () => {
    const body = {
      http: { routers: { ok: { rule: 'Host(`ok.test`)', service: 'ok' }, bad: { rule: ['x'], service: 'ok' } } },
    };
    const cp = await stub({ kind: 'config', body: JSON.stringify(body) });
    const { sink } = await startProvider({ endpoint: cp.url });
    const got = await sink.publishNumber(1);
    assert.deepEqual(Object.keys(got.config.http?.routers ?? {}), ['ok']);
    assert.deepEqual(
      got.diagnostics.map((d) => `${d.element}: ${d.message}`),
      ['http.routers.bad.rule: expected a string, got a list'],
    );
    assert.match(got.diagnostics[0]!.source, /^http provider http:\/\/127\.0\.0\.1:\d+\/v1\/traefik\/proxy-config$/);
    await sink.until(() => sink.lastState?.status === 'ok', 'ok');
  });

  test('redirects are followed, as Go’s client does', async () => {
    const cp = await stub({ kind: 'config', body: SEED_TEXT });
    const { sink } = await startProvider({ endpoint: cp.url.replace('/v1/traefik/proxy-config', '/moved') });
    assert.deepEqual((await sink.publishNumber(1)).config, SEED);
  });

  test('configured headers are sent and override the defaults', async () => {
    const cp = await stub({ kind: 'config', body: SEED_TEXT });
    const { sink } = await startProvider({
      endpoint: cp.url,
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-Proxy-Id': 'proxy-1', 'User-Agent': 'custom' },
    });
    await sink.publishNumber(1);
    assert.equal(cp.requests[0]?.headers['x-proxy-id'], 'proxy-1');
    assert.equal(cp.requests[0]?.headers['user-agent'], 'custom');
  });

  test('credentials and query strings in the endpoint never reach errors', async () => {
    const cp = await stub({ kind: 'status', status: 500 });
    const { sink } = await startProvider({
      endpoint: cp.url.replace('http://', 'http://user:s3cret@') + '?token=s3cret',
    });
    await sink.until(() => sink.lastState?.status === 'down', 'down');
    assert.ok(!(sink.lastState?.error ?? '').includes('s3cret'), sink.lastState?.error);
  });

  test('stop() aborts a poll in flight and no poll follows', async () => {
    const cp = await stub({ kind: 'hang' });
    const { p, sink } = await startProvider({ endpoint: cp.url, pollTimeout: '30s' });
    await cp.until(() => cp.requests.length === 1, 'the first poll');
    await p.stop();
    await cp.until(() => cp.abortedRequests === 1, 'the aborted request');
    assert.equal(cp.requests.length, 1);
    assert.ok(
      sink.states.every((s) => s.status === 'starting'),
      'an abort by stop() is not an error',
    );
  });

  const badSettings: { desc: string; cfg: Partial<HttpProviderConfig> & { endpoint: string }; error: RegExp }[] = [
    { desc: 'an empty endpoint', cfg: { endpoint: '' }, error: /non-empty endpoint/ },
    { desc: 'an endpoint that is not a URL', cfg: { endpoint: 'not a url' }, error: /not a valid URL/ },
    { desc: 'a non-HTTP endpoint', cfg: { endpoint: 'ftp://127.0.0.1/x' }, error: /expected http:\/\/ or https:\/\// },
    {
      desc: 'a zero pollInterval',
      cfg: { endpoint: 'http://127.0.0.1:1/x', pollInterval: '0s' },
      error: /pollInterval/,
    },
    {
      desc: 'an unparsable pollInterval',
      cfg: { endpoint: 'http://127.0.0.1:1/x', pollInterval: 'soon' },
      error: /pollInterval/,
    },
    {
      desc: 'an unreadable TLS CA file',
      cfg: { endpoint: 'https://127.0.0.1:1/x', tls: { ca: '/nonexistent/ca.pem' } },
      error: /providers\.http\.tls: .*ENOENT/,
    },
  ];
  for (const c of badSettings) {
    test(`${c.desc} leaves the provider down without throwing`, async () => {
      const { sink } = await startProvider(c.cfg);
      assert.equal(sink.lastState?.status, 'down');
      assert.match(sink.lastState?.error ?? '', c.error);
    });
  }
});
