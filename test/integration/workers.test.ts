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

function get(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

/** One TLS connection: whether it resumed `session`, and the session ticket it was given. */
function tlsSession(port: number, servername: string, session?: Buffer): Promise<{ reused: boolean; ticket: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...(session ? { session } : {}) });
    // A first connection waits for its ticket (TLS 1.3 sends it after the handshake); a resumed one
    // only needs the handshake.
    if (session) s.once('secureConnect', () => { resolve({ reused: s.isSessionReused(), ticket: session }); s.destroy(); });
    else s.once('session', (ticket: Buffer) => { resolve({ reused: s.isSessionReused(), ticket }); s.destroy(); });
    s.on('error', reject);
    s.setTimeout(5000, () => { reject(new Error('no TLS session within 5 s')); s.destroy(); });
  });
}

function peerCertCN(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(String(s.getPeerCertificate().subject?.CN ?? ''));
      s.destroy();
    });
    s.on('error', reject);
  });
}

describe('workers: the data plane on every core, fed by one control plane', { timeout: 120_000 }, () => {
  let berth: BerthProcess;
  let up: Upstream;
  let web = 0;
  let websecure = 0;
  let dyn = '';
  const write = (cfg: unknown): void => { writeFileSync(`${dyn}.tmp`, stringify(cfg)); renameSync(`${dyn}.tmp`, dyn); };

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
        routers: { app: { rule: 'Host(`app.test`)', service: 'up' }, secure: { rule: 'Host(`files.test`)', service: 'up', tls: {} } },
        services: { up: { loadBalancer: { servers: [{ url: up.url }] } } },
      },
      tls: { certificates: [{ certFile: join(dir, 'files.crt'), keyFile: join(dir, 'files.key') }] },
    });
    berth = await startBerth({
      dir,
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

  test('two worker processes serve the entrypoints with the primary\'s configuration', async () => {
    const pids = await workers();
    assert.equal(pids.length, 2);
    assert.ok(!pids.includes(berth.pid));
    await waitUntil(async () => (await get(web, 'app.test')) === 200, 'the configuration to reach the workers');
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(web, 'app.test')));
    assert.deepEqual(new Set(statuses), new Set([200]));
  });

  test('configuration changes reach every worker', async () => {
    write({ http: { routers: { fresh: { rule: 'Host(`fresh.test`)', service: 'up' } }, services: { up: { loadBalancer: { servers: [{ url: up.url }] } } } } });
    await waitUntil(async () => (await get(web, 'fresh.test')) === 200, 'the new router');
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(web, 'fresh.test')));
    assert.deepEqual(new Set(statuses), new Set([200]), 'every worker has the new router');
  });

  test('certificates from the primary\'s store are served by the workers', async () => {
    write({
      http: { routers: { secure: { rule: 'Host(`files.test`)', service: 'up', tls: {} } }, services: { up: { loadBalancer: { servers: [{ url: up.url }] } } } },
      tls: { certificates: [{ certFile: join(berth.dir, 'files.crt'), keyFile: join(berth.dir, 'files.key') }] },
    });
    await waitUntil(async () => (await peerCertCN(websecure, 'files.test')) === 'files.test', 'the file certificate in the workers');
    const cns = await Promise.all(Array.from({ length: 20 }, () => peerCertCN(websecure, 'files.test')));
    assert.deepEqual(new Set(cns), new Set(['files.test']));
  });

  test('TLS sessions resume on whichever worker accepts the next connection (shared ticket keys)', async () => {
    await waitUntil(async () => (await peerCertCN(websecure, 'files.test')) === 'files.test', 'the file certificate in the workers');
    const first = await tlsSession(websecure, 'files.test');
    // SO_REUSEPORT spreads these over both workers; each must accept the other's ticket.
    const again = [];
    for (let i = 0; i < 16; i++) again.push(await tlsSession(websecure, 'files.test', first.ticket));
    assert.deepEqual(again.map((r) => r.reused), again.map(() => true));
  });

  test('a worker that dies is replaced; the other keeps serving meanwhile', async () => {
    write({ http: { routers: { fresh: { rule: 'Host(`fresh.test`)', service: 'up' } }, services: { up: { loadBalancer: { servers: [{ url: up.url }] } } } } });
    await waitUntil(async () => (await get(web, 'fresh.test')) === 200, 'the router');
    const [victim] = await workers();
    process.kill(victim!, 'SIGKILL');
    await waitUntil(() => { try { process.kill(victim!, 0); return false; } catch { return true; } }, 'the worker to be gone');
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get(web, 'fresh.test').catch(() => 0)));
    assert.ok(statuses.filter((s) => s === 200).length > 0, `statuses while one worker was down: ${statuses.join(',')}`);
    await waitUntil(async () => { const p = await workers(); return p.length === 2 && !p.includes(victim!); }, 'a replacement worker', 30_000, 100);
    await waitUntil(async () => (await get(web, 'fresh.test')) === 200, 'service after the restart');
  });
});
