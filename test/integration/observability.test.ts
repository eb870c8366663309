import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { parsePrometheus, sampleValue } from '../observability/prom-parse.ts';
import { idleTimeout, rejectIfCut, timeoutSignal } from '../helpers/with-timeout.ts';

/** One request through berth with an explicit Host. */
function get(
  port: number,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      rejectIfCut(res, reject, `get on ${port}`);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

describe('observability through a berth process: access log and /metrics', { timeout: 60_000 }, () => {
  let up: Upstream;
  let dir: string;
  let jsonBerth: BerthProcess;
  let clfBerth: BerthProcess;
  let jsonPort: number;
  let clfPort: number;
  let logPath: string;

  before(async () => {
    up = await startUpstream((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(req.url?.startsWith('/big') ? 'x'.repeat(5000) : 'hello world');
    });
    dir = mkdtempSync(join(tmpdir(), 'berth-obs-'));
    const dynPath = join(dir, 'dynamic.yaml');
    writeFileSync(
      dynPath,
      stringify({
        http: {
          routers: { app: { rule: 'Host(`app.test`)', service: 'app' } },
          services: { app: { loadBalancer: { servers: [{ url: up.url }] } } },
        },
      }),
    );
    logPath = join(dir, 'logs', 'access.json');
    [jsonPort, clfPort] = [await freePort(), await freePort()];
    [jsonBerth, clfBerth] = await Promise.all([
      startBerth({
        config: {
          // Two data-plane workers: lines from both reach one file, counters from both reach /metrics.
          workers: 2,
          entryPoints: { web: { address: `127.0.0.1:${jsonPort}` } },
          providers: { file: { filename: dynPath, watch: true } },
          accessLog: { filePath: logPath, format: 'json' },
          metrics: { prometheus: { manualRouting: true, addRoutersLabels: true } },
        },
      }),
      startBerth({
        config: {
          workers: 1,
          entryPoints: { web: { address: `127.0.0.1:${clfPort}` } },
          providers: { file: { filename: dynPath, watch: true } },
          accessLog: { fields: { headers: { names: { 'User-Agent': 'keep' } } } },
        },
      }),
    ]);
    await waitUntil(
      async () => (await get(jsonPort, 'app.test')).status === 200 && (await get(clfPort, 'app.test')).status === 200,
      'the file routes',
    );
  });

  after(async () => {
    await Promise.all([jsonBerth?.stop(), clfBerth?.stop()]);
    await up?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const logLines = (): Record<string, unknown>[] =>
    existsSync(logPath)
      ? readFileSync(logPath, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];

  test('JSON access-log lines carry router, service, status, duration and sizes', async () => {
    assert.equal((await get(jsonPort, 'app.test', '/big?x=1', { 'user-agent': 'obs-test' })).status, 200);
    assert.equal((await get(jsonPort, 'nobody.test', '/')).status, 404);
    // Each worker buffers and flushes its own lines: the two requests may land on different workers.
    await waitUntil(() => {
      const ls = logLines();
      return ls.some((l) => l.RequestHost === 'nobody.test') && ls.some((l) => l.RequestPath === '/big?x=1');
    }, 'both lines in the access log');
    const lines = logLines();
    const big = lines.find((l) => l.RequestPath === '/big?x=1');
    assert.ok(big, 'line for /big');
    assert.equal(big.RouterName, 'app@file');
    assert.equal(big.ServiceName, 'app@file');
    assert.equal(big.ServiceURL, up.url);
    assert.equal(big.DownstreamStatus, 200);
    assert.equal(big.OriginStatus, 200);
    assert.equal(big.DownstreamContentSize, 5000);
    assert.equal(big.EntryPointName, 'web');
    assert.equal(big.RequestMethod, 'GET');
    assert.equal(big.RequestProtocol, 'HTTP/1.1');
    assert.equal(big.ClientHost, '127.0.0.1');
    assert.ok(typeof big.Duration === 'number' && big.Duration > 0);
    const miss = lines.find((l) => l.RequestHost === 'nobody.test')!;
    assert.equal(miss.DownstreamStatus, 404);
    assert.equal(miss.RouterName, undefined);
    assert.ok((miss.DownstreamContentSize as number) > 0);
  });

  test('/metrics parses strictly and its counters move with traffic', async () => {
    const scrape = async (): Promise<ReturnType<typeof parsePrometheus>> => {
      const res = await fetch(`${jsonBerth.apiUrl}/metrics`, { signal: timeoutSignal(15_000, 'berth /metrics') });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return parsePrometheus(await res.text());
    };
    const sel = { code: '200', method: 'GET', protocol: 'http', entrypoint: 'web' };
    // Workers report their counters every second: start from a value no report will still change.
    let before = await scrape();
    for (;;) {
      await new Promise((r) => setTimeout(r, 1200));
      const again = await scrape();
      const same =
        sampleValue(again, 'traefik_entrypoint_requests_total', sel) ===
        sampleValue(before, 'traefik_entrypoint_requests_total', sel);
      before = again;
      if (same) break;
    }
    const n0 = sampleValue(before, 'traefik_entrypoint_requests_total', sel) ?? 0;
    const bytes0 = sampleValue(before, 'traefik_entrypoint_responses_bytes_total', sel) ?? 0;
    for (let i = 0; i < 10; i++) assert.equal((await get(jsonPort, 'app.test')).status, 200);
    // onResponse runs when the response closes, just after the client read it.
    await waitUntil(
      async () => sampleValue(await scrape(), 'traefik_entrypoint_requests_total', sel) === n0 + 10,
      'the entrypoint counter to move by 10',
    );
    const fams = await scrape();
    assert.equal(sampleValue(fams, 'traefik_entrypoint_responses_bytes_total', sel), bytes0 + 110);
    assert.ok(
      (sampleValue(fams, 'traefik_router_requests_total', { code: '200', router: 'app@file', service: 'app@file' }) ??
        0) >= 10,
    );
    assert.ok((sampleValue(fams, 'traefik_service_requests_total', { code: '200', service: 'app@file' }) ?? 0) >= 10);
    assert.ok(
      (sampleValue(fams, 'traefik_service_request_duration_seconds_count', { code: '200', service: 'app@file' }) ??
        0) >= 10,
    );
    assert.equal(sampleValue(fams, 'traefik_service_server_up', { service: 'app@file', url: up.url }), 1);
    assert.equal(sampleValue(fams, 'berth_provider_up', { provider: 'file' }), 1);
    assert.ok((sampleValue(fams, 'traefik_config_reloads_total') ?? 0) >= 1);
    assert.ok(
      (sampleValue(fams, 'traefik_tls_certs_not_after') ?? 0) > Date.now() / 1000,
      'the default certificate is listed',
    );
  });

  test('metrics are off unless configured: /metrics answers 404', async () => {
    const res = await fetch(`${clfBerth.apiUrl}/metrics`, { signal: timeoutSignal(15_000, 'berth /metrics') });
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });

  test('common log format on stdout, with router, service URL and duration', async () => {
    assert.equal((await get(clfPort, 'app.test', '/clf', { 'user-agent': 'clf-agent' })).status, 200);
    const re =
      /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/clf HTTP\/1\.1" 200 11 "-" "clf-agent" \d+ "app@file" "([^"]+)" \d+ms$/;
    await waitUntil(() => clfBerth.logs.some((l) => re.test(l)), 'the CLF line on stdout');
    const line = clfBerth.logs.find((l) => re.test(l))!;
    assert.equal(re.exec(line)![1], up.url);
  });
});
