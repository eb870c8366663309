/**
 * The `berth` command line as a user runs it (`node src/main.ts …`): `check` on bad and real
 * configurations, `check --labels` on a compose file, `version`, unknown commands, and a production
 * `traefik.yml` that starts berth — with `routes` and `explain` asked of the running process.
 *
 * The Traefik fixture binds :80, :443 and :53 on every interface, polls a control plane on
 * 10.50.0.1, orders certificates from Let's Encrypt and writes under /etc and /var/log. The copy that
 * is run changes only those addresses and paths (to free loopback ports, a local stub control plane,
 * an unreachable loopback CA and a temp dir); every other key is the fixture's own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { parse, stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, freeUdpPort, waitUntil } from '../helpers/net.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { StubControlPlane } from '../providers/http/stub-control-plane.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');
const FIXTURE = join(ROOT, 'test/fixtures/static/traefik.yml');

/** Runs `node src/main.ts ...args`; resolves the exit code and both outputs (never rejects on a non-zero exit). */
function cli(args: readonly string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd, timeout: 30_000, env: { ...process.env, BERTH_LOG_LEVEL: 'error' } },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          rej(err);
          return;
        }
        res({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** One HTTP(S) GET with an explicit Host (and SNI for HTTPS). */
function get(url: {
  tls: boolean;
  port: number;
  host: string;
  path?: string;
}): Promise<{ status: number; headers: Record<string, unknown>; body: string; issuer?: string }> {
  return new Promise((res, rej) => {
    const opts = {
      host: '127.0.0.1',
      port: url.port,
      path: url.path ?? '/',
      headers: { host: url.host },
      agent: false as const,
    };
    const onRes = (r: import('node:http').IncomingMessage): void => {
      let body = '';
      const cn: unknown = url.tls ? (r.socket as TLSSocket).getPeerCertificate().issuer?.CN : undefined;
      const issuer = typeof cn === 'string' ? cn : undefined;
      r.on('data', (c: Buffer) => {
        body += c.toString();
      });
      rejectIfCut(r, rej, `GET ${opts.path} on ${url.port}`);
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body, ...(issuer ? { issuer } : {}) }));
    };
    const req = url.tls
      ? httpsRequest({ ...opts, servername: url.host, rejectUnauthorized: false }, onRes)
      : httpRequest(opts, onRes);
    idleTimeout(req, 30_000, `GET ${opts.path} on ${url.port}`);
    req.on('error', rej);
    req.end();
  });
}

describe('berth check, version and bad input', { timeout: 60_000, concurrency: 4 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  const compose = `services:
  web:
    image: nginx
    labels:
      traefik.enable: "true"
      traefik.http.routers.web.rule: Host(\`web.example.com\`)
      traefik.http.services.web.loadbalancer.server.port: "8080"
  api:
    image: api
    labels:
      - traefik.enable=true
      - traefik.http.routers.api.rulle=Host(\`api.example.com\`)
      - traefik.http.services.api.loadbalancer.server.port=9000
`;

  const cases: { desc: string; args: () => string[]; code: number; stdout?: RegExp[]; stderr?: RegExp[] }[] = [
    {
      desc: 'check: a misspelt key is reported with its path and a suggestion, exit 2',
      args: () => ['check', '-c', file('bad.yaml', 'entryPoints:\n  web:\n    adress: ":80"\n')],
      code: 2,
      stderr: [/entryPoints\.web\.adress: unknown key, did you mean "address"\?/, /static configuration is invalid/],
    },
    {
      desc: 'check: a wrong type is reported with its path, exit 2',
      args: () => [
        'check',
        '-c',
        file('type.yaml', 'entryPoints:\n  web:\n    address: ":80"\n    asDefault: sometimes\n'),
      ],
      code: 2,
      stderr: [/entryPoints\.web\.asDefault/],
    },
    {
      desc: 'check: a missing file, exit 2',
      args: () => ['check', '-c', join(dir, 'nope.yaml')],
      code: 2,
      stderr: [/nope\.yaml: file not found/],
    },
    {
      desc: 'check: a production traefik.yml passes unchanged',
      args: () => ['check', '-c', FIXTURE],
      code: 0,
      stdout: [
        /traefik\.yml: ok \(entrypoints: web=:80, websecure=:443, dns=:53\/udp, ping=127\.0\.0\.1:8082, metrics=127\.0\.0\.1:8083\)/,
      ],
    },
    {
      desc: "check with Traefik's --configFile= spelling",
      args: () => [`--configFile=${FIXTURE}`, 'check'],
      code: 0,
      stdout: [/traefik\.yml: ok/],
    },
    {
      desc: 'check --labels: a label typo names the service and the label, exit 2',
      args: () => ['check', '--labels', file('compose.yaml', compose)],
      code: 2,
      stderr: [
        /service "api" in .*compose\.yaml: label traefik\.http\.routers\.api\.rulle: unknown key "rulle" \(did you mean "rule"\?\)/,
      ],
      stdout: [/1 router\(s\), 1 error\(s\)/],
    },
    {
      desc: 'check --labels --output yaml prints the decoded config',
      args: () => ['check', '--labels', file('compose.yaml', compose), '--output', 'yaml'],
      code: 2,
      stdout: [/rule: Host\(`web\.example\.com`\)/, /url: http:\/\/web:8080/],
    },
    {
      desc: 'check --labels --output xml: bad argument, exit 2',
      args: () => ['check', '--labels', file('compose.yaml', compose), '--output', 'xml'],
      code: 2,
      stderr: [/--output must be json or yaml/],
    },
    {
      desc: 'check --labels on a missing compose file, exit 2',
      args: () => ['check', '--labels', join(dir, 'missing-compose.yaml')],
      code: 2,
      stderr: [/cannot read .*missing-compose\.yaml/],
    },
    { desc: 'version', args: () => ['version'], code: 0, stdout: [/^berth \d+\.\d+\.\d+ \(node v24\./] },
    { desc: 'help', args: () => ['help'], code: 0, stdout: [/usage: berth <command>/] },
    {
      desc: 'unknown command, exit 2',
      args: () => ['bogus'],
      code: 2,
      stderr: [/unknown command "bogus"/, /usage: berth/],
    },
    { desc: '-c without a value, exit 2', args: () => ['check', '-c'], code: 2, stderr: [/-c needs a value/] },
    { desc: 'explain without a URL, exit 2', args: () => ['explain'], code: 2, stderr: [/give a URL/] },
    {
      desc: 'routes with no berth running: a clear message and a non-zero exit',
      args: () => ['routes', '--api', 'http://127.0.0.1:1'],
      code: 1,
      stderr: [/cannot reach berth's API at http:\/\/127\.0\.0\.1:1.*is berth running\?/],
    },
  ];

  for (const c of cases) {
    test(c.desc, async () => {
      const r = await cli(c.args());
      assert.equal(r.code, c.code, `exit code\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      for (const re of c.stdout ?? []) assert.match(r.stdout, re);
      for (const re of c.stderr ?? []) assert.match(r.stderr, re);
    });
  }

  test('check --labels --output json prints the decoded config and the diagnostics as JSON', async () => {
    const r = await cli(['check', '--labels', file('compose.yaml', compose), '--output', 'json']);
    assert.equal(r.code, 2);
    const out = JSON.parse(r.stdout) as {
      config: any;
      diagnostics: { level: string; source: string; element: string; message: string }[];
    };
    assert.deepEqual(out.config.http.routers.web, { rule: 'Host(`web.example.com`)', service: 'web' });
    assert.deepEqual(out.config.http.services.web.loadBalancer.servers, [{ url: 'http://web:8080' }]);
    assert.equal(out.config.http.routers.api, undefined, 'the broken router is dropped alone');
    assert.equal(out.diagnostics.length, 1);
    assert.equal(out.diagnostics[0]!.level, 'error');
    assert.match(out.diagnostics[0]!.source, /service "api"/);
    assert.equal(out.diagnostics[0]!.element, 'label traefik.http.routers.api.rulle');
  });

  test('check --labels on a clean compose file exits 0', async () => {
    const clean = compose.replace('rulle', 'rule');
    const r = await cli(['check', '--labels', file('clean.yaml', clean), '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { config: any; diagnostics: unknown[] };
    assert.deepEqual(Object.keys(out.config.http.routers).sort(), ['api', 'web']);
    assert.deepEqual(out.diagnostics, []);
  });
});

describe('a production traefik.yml starts berth; routes and explain ask the running process', {
  timeout: 120_000,
}, () => {
  const token = '0123456789abcdef';
  const stub = new StubControlPlane(token);
  let dir: string;
  let berth: BerthProcess;
  let copyPath: string;
  let upstream: Upstream;
  const ports: Record<'web' | 'websecure' | 'dns' | 'ping' | 'metrics', number> = {
    web: 0,
    websecure: 0,
    dns: 0,
    ping: 0,
    metrics: 0,
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-traefikyml-'));
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('my-app');
    });
    stub.mode = {
      kind: 'config',
      body: JSON.stringify({
        http: {
          routers: {
            'app-1': {
              rule: 'Host(`my-app.route.example.test`) || Host(`custom.domain.test`)',
              service: 'app-1',
              tls: { certResolver: 'letsencrypt' },
            },
          },
          services: { 'app-1': { loadBalancer: { servers: [{ url: upstream.url }] } } },
        },
      }),
    };
    await stub.listen();
    for (const k of Object.keys(ports) as (keyof typeof ports)[])
      ports[k] = k === 'dns' ? await freeUdpPort() : await freePort();
    // The fixture's `providers.file.directory`, relocated: it defines the middleware websecure applies.
    const dynamicDir = join(dir, 'dynamic');
    mkdirSync(dynamicDir);
    writeFileSync(
      join(dynamicDir, 'security.yml'),
      stringify({
        http: {
          middlewares: {
            'security-headers': { headers: { stsSeconds: 31536000, stsIncludeSubdomains: true, frameDeny: true } },
          },
        },
      }),
    );

    const cfg = parse(readFileSync(FIXTURE, 'utf8')) as Record<string, any>;
    const original = structuredClone(cfg);
    cfg.entryPoints.web.address = `127.0.0.1:${ports.web}`;
    cfg.entryPoints.websecure.address = `127.0.0.1:${ports.websecure}`;
    cfg.entryPoints.dns.address = `127.0.0.1:${ports.dns}/udp`;
    cfg.entryPoints.ping.address = `127.0.0.1:${ports.ping}`;
    cfg.entryPoints.metrics.address = `127.0.0.1:${ports.metrics}`;
    cfg.providers.http.endpoint = stub.url;
    cfg.providers.file.directory = dynamicDir;
    cfg.log.filePath = join(dir, 'log/traefik.log');
    cfg.accessLog.filePath = join(dir, 'log/access.log');
    for (const r of Object.values(cfg.certificatesResolvers) as { acme: Record<string, unknown> }[]) {
      r.acme.storage = join(dir, 'acme', String(r.acme.storage).split('/').pop() ?? 'acme.json');
      r.acme.caServer = 'https://127.0.0.1:1/directory';
    }
    cfg.api.listen = `127.0.0.1:${await freePort()}`;
    cfg.edge = { stateDir: join(dir, 'state') };
    // Guard: nothing but addresses and paths differs from the fixture.
    const strip = (c: Record<string, any>): unknown => {
      const x = structuredClone(c);
      for (const ep of Object.values(x.entryPoints) as { address?: string }[]) delete ep.address;
      delete x.providers.http.endpoint;
      delete x.providers.file.directory;
      delete x.log.filePath;
      delete x.accessLog.filePath;
      for (const r of Object.values(x.certificatesResolvers) as { acme: Record<string, unknown> }[]) {
        delete r.acme.storage;
        delete r.acme.caServer;
      }
      delete x.api.listen;
      delete x.edge;
      return x;
    };
    assert.deepEqual(strip(cfg), strip(original));
    copyPath = join(dir, 'traefik.yml');
    berth = await startBerth({ dir, config: cfg });
    await waitUntil(
      async () => (await get({ tls: true, port: ports.websecure, host: 'my-app.route.example.test' })).status === 200,
      "the control plane's route to be served",
      20_000,
    );
  });

  after(async () => {
    const code = await berth?.stop();
    await stub.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'berth exits 0 after SIGTERM');
  });

  test('every entrypoint of the file listens where it says', async () => {
    const eps = await berth.api<{ name: string; address: string; protocol: string }[]>('/api/entrypoints');
    const got = Object.fromEntries(eps.map((e) => [e.name, `${e.address}/${e.protocol}`]));
    assert.deepEqual(got, {
      web: `127.0.0.1:${ports.web}/tcp`,
      websecure: `127.0.0.1:${ports.websecure}/tcp`,
      dns: `127.0.0.1:${ports.dns}/udp`,
      ping: `127.0.0.1:${ports.ping}/tcp`,
      metrics: `127.0.0.1:${ports.metrics}/tcp`,
    });
  });

  test("the HTTP provider polls with the file's headers; websecure serves its routes with the entrypoint middleware", async () => {
    const polled = stub.requests.at(-1)!;
    assert.equal(polled.authorization, `Bearer ${token}`);
    assert.equal(polled.headers['x-proxy-node'], 'edge-1');
    for (const host of ['my-app.route.example.test', 'custom.domain.test']) {
      const r = await get({ tls: true, port: ports.websecure, host });
      assert.equal(r.status, 200, host);
      assert.equal(r.body, 'my-app');
      assert.equal(
        r.headers['strict-transport-security'],
        'max-age=31536000; includeSubDomains',
        'security-headers@file from entryPoints.websecure.http.middlewares',
      );
      assert.equal(r.headers['x-frame-options'], 'DENY');
      // The CA is unreachable: the order fails and the default certificate serves meanwhile.
      assert.equal(r.issuer, 'TRAEFIK DEFAULT CERT');
    }
  });

  test('web redirects to websecure', async () => {
    const redirect = await get({ tls: false, port: ports.web, host: 'my-app.route.example.test', path: '/a?b=c' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, `https://my-app.route.example.test:${ports.websecure}/a?b=c`);
  });

  test('log.filePath receives the process log as JSON lines', async () => {
    const lines = readFileSync(join(dir, 'log/traefik.log'), 'utf8').trim().split('\n');
    const entries = lines.map((l) => JSON.parse(l) as { msg?: string });
    assert.ok(
      entries.some((e) => e.msg?.startsWith('entrypoint websecure listening on')),
      lines.join('\n'),
    );
  });

  test('berth routes and berth explain URL against the running berth (--api, and api.listen read from -c)', async () => {
    const routes = await cli(['routes', '--api', berth.apiUrl]);
    assert.equal(routes.code, 0, routes.stderr);
    assert.match(
      routes.stdout,
      /^http\s+enabled\s+app-1@http\s+Host\(`my-app\.route\.example\.test`\) \|\| Host\(`custom\.domain\.test`\)\s+→ app-1@http$/m,
    );

    writeFileSync(copyPath, readFileSync(berth.configPath));
    const viaConfig = await cli(['routes', '-c', copyPath]);
    assert.equal(viaConfig.code, 0, viaConfig.stderr);
    assert.equal(viaConfig.stdout, routes.stdout);

    const explained = await cli(['explain', 'https://custom.domain.test/some/path', '--api', berth.apiUrl]);
    assert.equal(explained.code, 0, explained.stderr);
    const e = JSON.parse(explained.stdout) as {
      host: string;
      entrypoints: {
        entrypoint: string;
        matched: null | {
          router: string;
          service: string;
          middlewares: string[];
          servers: { url: string; healthy: boolean }[];
        };
      }[];
    };
    assert.equal(e.host, 'custom.domain.test');
    const ws = e.entrypoints.find((x) => x.entrypoint === 'websecure');
    assert.equal(ws?.matched?.router, 'app-1@http');
    assert.equal(ws?.matched?.service, 'app-1@http');
    assert.deepEqual(
      ws?.matched?.servers.map((s) => [s.url, s.healthy]),
      [[upstream.url, true]],
    );

    const none = await cli(['explain', 'https://nobody.example.org/', '--api', berth.apiUrl]);
    assert.equal(none.code, 0, none.stderr);
    assert.ok(
      (JSON.parse(none.stdout) as { entrypoints: { matched: unknown }[] }).entrypoints.every((x) => x.matched === null),
    );
  });
});
