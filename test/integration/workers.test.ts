import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { echoHandler, startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

function get(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      res.resume();
      rejectIfCut(res, reject, `get on ${port}`);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

/** One TLS connection: whether it resumed `session`, and the session ticket it was given. */
function tlsSession(port: number, servername: string, session?: Buffer): Promise<{ reused: boolean; ticket: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      ...(session ? { session } : {}),
    });
    // A first connection waits for its ticket (TLS 1.3 sends it after the handshake); a resumed one
    // only needs the handshake.
    if (session)
      s.once('secureConnect', () => {
        resolve({ reused: s.isSessionReused(), ticket: session });
        s.destroy();
      });
    else
      s.once('session', (ticket: Buffer) => {
        resolve({ reused: s.isSessionReused(), ticket });
        s.destroy();
      });
    s.on('error', reject);
    s.once('close', () => reject(new Error(`TLS connection for ${servername} on ${port} closed before a session`)));
    s.setTimeout(5000, () => {
      reject(new Error('no TLS session within 5 s'));
      s.destroy();
    });
  });
}

function peerCertCN(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(String(s.getPeerCertificate().subject?.CN ?? ''));
      s.destroy();
    });
    idleTimeout(s, 30_000, `TLS handshake for ${servername} on ${port}`);
    s.on('error', reject);
  });
}

describe('workers: the data plane on every core, fed by one control plane', { timeout: 120_000 }, () => {
  let berth: BerthProcess;
  let up: Upstream;
  let web = 0;
  let websecure = 0;
  let dyn = '';
  const write = (cfg: unknown): void => {
    writeFileSync(`${dyn}.tmp`, stringify(cfg));
    renameSync(`${dyn}.tmp`, dyn);
  };

  before(async () => {
    up = await startUpstream(echoHandler('up'));
    web = await freePort();
    websecure = await freePort();
    const dir = tempDir('berth-workers-');
    dyn = join(dir, 'dynamic.yaml');
    const cert = buildCertificate({ commonName: 'files.test', dnsNames: ['files.test'] });
    writeFileSync(join(dir, 'files.key'), cert.key);
    writeFileSync(join(dir, 'files.crt'), cert.cert);
    write({
      http: {
        routers: {
          app: { rule: 'Host(`app.test`)', service: 'up' },
          secure: { rule: 'Host(`files.test`)', service: 'up', tls: {} },
        },
        services: { up: { loadBalancer: { servers: [{ url: up.url }] } } },
      },
      tls: { certificates: [{ certFile: join(dir, 'files.crt'), keyFile: join(dir, 'files.key') }] },
    });
    berth = await startBerth({
      dir,
      // Enables crash@internal: a router naming it fails the worker that accepts the request.
      env: { BERTH_TEST_HOOKS: '1' },
      config: {
        workers: 2,
        entryPoints: { web: { address: `127.0.0.1:${web}` }, websecure: { address: `127.0.0.1:${websecure}` } },
        providers: { file: { filename: dyn, watch: true } },
      },
    });
  });

  after(async () => {
    const code = await berth?.stop();
    await up?.close();
    assert.equal(code, 0);
  });

  const workers = async (): Promise<number[]> => {
    const eps = await berth.api<{ name: string; workers?: number[] }[]>('/api/entrypoints');
    return eps.find((e) => e.name === 'web')?.workers ?? [];
  };

  test("two worker threads serve the entrypoints with the control plane's configuration", async () => {
    const ids = await workers();
    assert.equal(ids.length, 2);
    await waitUntil(async () => (await get(web, 'app.test')) === 200, 'the configuration to reach the workers');
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(web, 'app.test')));
    assert.deepEqual(new Set(statuses), new Set([200]));
  });

  test('configuration changes reach every worker', async () => {
    write({
      http: {
        routers: { fresh: { rule: 'Host(`fresh.test`)', service: 'up' } },
        services: { up: { loadBalancer: { servers: [{ url: up.url }] } } },
      },
    });
    await waitUntil(async () => (await get(web, 'fresh.test')) === 200, 'the new router');
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(web, 'fresh.test')));
    assert.deepEqual(new Set(statuses), new Set([200]), 'every worker has the new router');
  });

  test("certificates from the primary's store are served by the workers", async () => {
    write({
      http: {
        routers: { secure: { rule: 'Host(`files.test`)', service: 'up', tls: {} } },
        services: { up: { loadBalancer: { servers: [{ url: up.url }] } } },
      },
      tls: { certificates: [{ certFile: join(berth.dir, 'files.crt'), keyFile: join(berth.dir, 'files.key') }] },
    });
    await waitUntil(
      async () => (await peerCertCN(websecure, 'files.test')) === 'files.test',
      'the file certificate in the workers',
    );
    const cns = await Promise.all(Array.from({ length: 20 }, () => peerCertCN(websecure, 'files.test')));
    assert.deepEqual(new Set(cns), new Set(['files.test']));
  });

  test('TLS sessions resume on whichever worker accepts the next connection (shared ticket keys)', async () => {
    await waitUntil(
      async () => (await peerCertCN(websecure, 'files.test')) === 'files.test',
      'the file certificate in the workers',
    );
    const first = await tlsSession(websecure, 'files.test');
    // SO_REUSEPORT spreads these over both workers; each must accept the other's ticket.
    const again = [];
    for (let i = 0; i < 16; i++) again.push(await tlsSession(websecure, 'files.test', first.ticket));
    assert.deepEqual(
      again.map((r) => r.reused),
      again.map(() => true),
    );
  });

  test('a worker that fails is replaced; the other keeps serving meanwhile', async () => {
    write({
      http: {
        routers: {
          fresh: { rule: 'Host(`fresh.test`)', service: 'up' },
          crash: { rule: 'Host(`crash.test`)', service: 'crash@internal' },
        },
        services: { up: { loadBalancer: { servers: [{ url: up.url }] } } },
      },
    });
    await waitUntil(async () => (await get(web, 'fresh.test')) === 200, 'the router');
    const before = await workers();
    assert.equal(before.length, 2);
    // The worker that accepts this request fails as an uncaught bug would; its connection dies with it.
    await get(web, 'crash.test').catch(() => 0);
    await waitUntil(async () => {
      const now = await workers();
      return now.length < 2 || now.some((id) => !before.includes(id));
    }, 'the failed worker to be gone');
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get(web, 'fresh.test').catch(() => 0)));
    assert.deepEqual(new Set(statuses), new Set([200]), `statuses while one worker was down: ${statuses.join(',')}`);
    await waitUntil(
      async () => {
        const now = await workers();
        return now.length === 2 && now.filter((id) => before.includes(id)).length === 1;
      },
      'a replacement worker',
      30_000,
      100,
    );
    const after = await Promise.all(Array.from({ length: 40 }, () => get(web, 'fresh.test')));
    assert.deepEqual(new Set(after), new Set([200]), 'service after the restart');
  });
});

describe('workers: health checks run once, in the control plane, and their verdict reaches every worker', {
  timeout: 120_000,
}, () => {
  let berth: BerthProcess;
  let up: Upstream;
  let web = 0;
  let healthy = true;
  let probes = 0;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/health') {
        probes++;
        res.statusCode = healthy ? 200 : 503;
        res.end();
        return;
      }
      res.end('up');
    });
    web = await freePort();
    const dir = tempDir('berth-workers-health-');
    const dyn = join(dir, 'dynamic.yaml');
    writeFileSync(
      dyn,
      stringify({
        http: {
          routers: { hc: { rule: 'Host(`hc.test`)', service: 'hc' } },
          services: {
            hc: {
              loadBalancer: {
                servers: [{ url: up.url }],
                healthCheck: { path: '/health', interval: '1h', unhealthyInterval: '100ms' },
              },
            },
          },
        },
      }),
    );
    berth = await startBerth({
      dir,
      config: {
        workers: 2,
        entryPoints: { web: { address: `127.0.0.1:${web}` } },
        providers: { file: { filename: dyn, watch: true } },
      },
    });
  });

  after(async () => {
    const code = await berth?.stop();
    await up?.close();
    assert.equal(code, 0);
  });

  test('one probe per interval in all: the workers do not probe', async () => {
    await waitUntil(async () => (await get(web, 'hc.test')) === 200, 'the router in the workers');
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(web, 'hc.test')));
    assert.deepEqual(new Set(statuses), new Set([200]));
    // An hour-long interval: the first round is the only one, so every checker probed exactly once.
    assert.equal(probes, 1);
  });

  test('a server marked down is down in every worker, and back up in every worker', async () => {
    healthy = false;
    // A shorter interval is a new definition: the control plane's checker starts again with it.
    writeFileSync(
      join(berth.dir, 'dynamic.yaml'),
      stringify({
        http: {
          routers: { hc: { rule: 'Host(`hc.test`)', service: 'hc' } },
          services: {
            hc: {
              loadBalancer: {
                servers: [{ url: up.url }],
                healthCheck: { path: '/health', interval: '100ms', unhealthyInterval: '100ms' },
              },
            },
          },
        },
      }),
    );
    await waitUntil(async () => (await get(web, 'hc.test')) === 503, 'the server to be marked down');
    const down = await Promise.all(Array.from({ length: 40 }, () => get(web, 'hc.test')));
    assert.deepEqual(new Set(down), new Set([503]), 'down in every worker');
    healthy = true;
    await waitUntil(async () => (await get(web, 'hc.test')) === 200, 'the server to be marked up');
    const upAgain = await Promise.all(Array.from({ length: 40 }, () => get(web, 'hc.test')));
    assert.deepEqual(new Set(upAgain), new Set([200]), 'up in every worker');
  });
});
