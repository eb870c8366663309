/**
 * Traefik's v2 rule syntax end to end through berth processes: a router's `ruleSyntax: v2` in a file
 * provider's configuration (HTTP and TCP), `core.defaultRuleSyntax: v2` in the static configuration
 * with a router that opts back into v3, broken v2 rules and an unknown `ruleSyntax` reported without
 * disturbing the other routers, and an unknown default refused at start. Real upstreams, real clients.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { echoHandler, startUpstream, type Upstream } from '../helpers/upstreams.ts';

/** One GET through berth with an explicit Host; resolves the status and which upstream answered. */
function get(port: number, host: string, path = '/', headers: Record<string, string> = {}) {
  return new Promise<{ status: number; name?: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve(status === 200 ? { status, name: (JSON.parse(body) as { name: string }).name } : { status });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends one line over TCP and resolves what comes back before the server closes. */
function tcpRoundTrip(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(line));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

interface Diagnostic {
  level: string;
  element: string;
  message: string;
}

describe('ruleSyntax v2 per router (file provider)', { timeout: 120_000 }, () => {
  let berth: BerthProcess;
  let legacy: Upstream;
  let modern: Upstream;
  let raw: Server;
  let web: number;
  let tcpin: number;
  let dynPath: string;
  let services: Record<string, unknown>;

  const writeDyn = (cfg: unknown): void => {
    writeFileSync(`${dynPath}.tmp`, stringify(cfg));
    renameSync(`${dynPath}.tmp`, dynPath);
  };

  before(async () => {
    legacy = await startUpstream(echoHandler('legacy'));
    modern = await startUpstream(echoHandler('modern'));
    raw = createServer((s) => s.once('data', (d) => s.end(`tcp:${d.toString()}`)));
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    web = await freePort();
    tcpin = await freePort();
    const dir = tempDir('berth-rulev2-');
    dynPath = join(dir, 'dynamic.yaml');
    services = {
      legacy: { loadBalancer: { servers: [{ url: legacy.url }] } },
      modern: { loadBalancer: { servers: [{ url: modern.url }] } },
    };
    writeDyn({
      http: {
        routers: {
          legacy: {
            rule: 'Host(`a.test`, `b.test`) && PathPrefix(`/api/{id:[0-9]+}`)',
            ruleSyntax: 'v2',
            entryPoints: ['web'],
            service: 'legacy',
          },
          modern: { rule: 'Host(`c.test`)', entryPoints: ['web'], service: 'modern' },
        },
        services,
      },
      tcp: {
        routers: {
          raw: { rule: 'ClientIP(`127.0.0.1`, `::1`)', ruleSyntax: 'v2', entryPoints: ['tcpin'], service: 'raw' },
        },
        services: {
          raw: { loadBalancer: { servers: [{ address: `127.0.0.1:${(raw.address() as AddressInfo).port}` }] } },
        },
      },
    });
    berth = await startBerth({
      dir,
      config: {
        entryPoints: { web: { address: `127.0.0.1:${web}` }, tcpin: { address: `127.0.0.1:${tcpin}` } },
        providers: { file: { filename: dynPath, watch: true } },
      },
    });
    await waitUntil(async () => (await get(web, 'c.test')).status === 200, 'the file configuration to be served');
  });

  after(async () => {
    assert.equal(await berth?.stop(), 0, 'berth exits 0 after SIGTERM');
    await Promise.all([legacy?.close(), modern?.close(), new Promise((r) => raw?.close(r))]);
  });

  test('a v2 rule with lists and a path template routes as in Traefik v2', async () => {
    assert.deepEqual(await get(web, 'a.test', '/api/42/items'), { status: 200, name: 'legacy' });
    assert.deepEqual(await get(web, 'B.Test:80', '/api/7'), { status: 200, name: 'legacy' });
    assert.equal((await get(web, 'a.test', '/api/x')).status, 404, 'the template wants digits');
    assert.equal((await get(web, 'd.test', '/api/42')).status, 404);
    assert.deepEqual(await get(web, 'c.test'), { status: 200, name: 'modern' }, 'the v3 router next to it');
  });

  test('a v2 TCP rule (ClientIP with a list) forwards the connection', async () => {
    assert.equal(await tcpRoundTrip(tcpin, 'hello'), 'tcp:hello');
  });

  test('a broken v2 rule is a router error and an unknown ruleSyntax reads the rule as v3 with a warning; the other routers keep working', async () => {
    writeDyn({
      http: {
        routers: {
          legacy: {
            rule: 'Host(`a.test`) && Query(`titi`)',
            ruleSyntax: 'v2',
            entryPoints: ['web'],
            service: 'legacy',
          },
          odd: { rule: 'Host(`o.test`)', ruleSyntax: 'v4', entryPoints: ['web'], service: 'legacy' },
          fresh: { rule: 'HostHeader(`d.test`) && Method(`get`, `post`)', ruleSyntax: 'v2', service: 'legacy' },
          modern: { rule: 'Host(`c.test`)', entryPoints: ['web'], service: 'modern' },
        },
        services,
      },
    });
    await waitUntil(async () => (await get(web, 'd.test')).status === 200, 'the new configuration to be served');
    assert.deepEqual(await get(web, 'c.test'), { status: 200, name: 'modern' });
    assert.equal((await get(web, 'a.test', '/api/42')).status, 404, 'the broken router is disabled');
    assert.equal(
      (await get(web, 'o.test')).status,
      200,
      'the router with an unknown ruleSyntax serves, its rule read as v3',
    );
    const diags = await berth.api<Diagnostic[]>('/diagnostics');
    const about = (name: string) => diags.filter((d) => d.level === 'error' && d.element.includes(name));
    assert.match(
      about('legacy')
        .map((d) => d.message)
        .join('\n'),
      /Query.*multiple of 2/,
    );
    assert.match(
      diags
        .filter((d) => d.level === 'warning' && /odd/.test(d.element))
        .map((d) => d.message)
        .join('\n'),
      /(?=.*"v4")(?=.*v3 syntax)/,
    );
    assert.deepEqual(about('odd'), [], 'no error for the router with an unknown ruleSyntax');
    assert.equal(berth.child.exitCode, null, 'berth is still running');
  });
});

describe('core.defaultRuleSyntax: v2 (static configuration)', { timeout: 120_000 }, () => {
  let berth: BerthProcess;
  let up: Upstream;
  let web: number;

  before(async () => {
    up = await startUpstream(echoHandler('up'));
    web = await freePort();
    const dir = tempDir('berth-rulev2-default-');
    const dynPath = join(dir, 'dynamic.yaml');
    writeFileSync(
      dynPath,
      stringify({
        http: {
          routers: {
            old: { rule: 'Host(`a.test`, `b.test`) && Headers(`X-Env`, `prod`)', service: 'up' },
            new: { rule: 'Host(`c.test`) && Header(`X-Env`, `prod`)', ruleSyntax: 'v3', service: 'up' },
          },
          services: { up: { loadBalancer: { servers: [{ url: up.url }] } } },
        },
      }),
    );
    berth = await startBerth({
      dir,
      config: {
        core: { defaultRuleSyntax: 'v2' },
        entryPoints: { web: { address: `127.0.0.1:${web}` } },
        providers: { file: { filename: dynPath } },
      },
    });
    await waitUntil(async () => (await get(web, 'c.test', '/', { 'x-env': 'prod' })).status === 200, 'routes served');
  });

  after(async () => {
    assert.equal(await berth?.stop(), 0);
    await up?.close();
  });

  test('routers without ruleSyntax are read with the v2 syntax', async () => {
    assert.equal((await get(web, 'b.test', '/', { 'x-env': 'prod' })).status, 200);
    assert.equal((await get(web, 'a.test', '/', { 'x-env': 'dev' })).status, 404);
    assert.equal((await get(web, 'a.test')).status, 404);
  });

  test('a router with ruleSyntax: v3 keeps the v3 syntax', async () => {
    assert.equal((await get(web, 'c.test', '/', { 'x-env': 'prod' })).status, 200);
    assert.equal((await get(web, 'c.test')).status, 404);
    const diags = await berth.api<Diagnostic[]>('/diagnostics');
    assert.deepEqual(
      diags.filter((d) => d.level === 'error'),
      [],
    );
  });

  test('an unknown core.defaultRuleSyntax is refused at start, as Traefik refuses it', async () => {
    await assert.rejects(
      startBerth({
        config: {
          core: { defaultRuleSyntax: 'v1' },
          entryPoints: { web: { address: `127.0.0.1:${await freePort()}` } },
        },
      }),
      /defaultRuleSyntax/,
    );
  });
});
