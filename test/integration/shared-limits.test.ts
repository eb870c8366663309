import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { ServerResponse } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { tempDir } from '../helpers/temp.ts';

/** One request on a fresh connection (no agent): the kernel picks the worker that accepts it. */
function get(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function tally(statuses: readonly number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

describe('workers: limit middlewares enforce their numbers across every worker', { timeout: 120_000 }, () => {
  let berth: BerthProcess;
  let up: Upstream;
  let web = 0;
  let tcp = 0;
  /** Connections the TCP upstream accepted (relayed by berth), kept open until the end. */
  const relayed: Socket[] = [];
  let tcpUp: Server;
  /** Requests for `slow.test` the upstream holds until the test answers them. */
  const held: ServerResponse[] = [];

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.headers.host === 'slow.test') held.push(res);
      else res.end('up');
    });
    tcpUp = createServer((s) => {
      relayed.push(s);
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => s.write(`up:${d.toString()}`));
    });
    await new Promise<void>((r) => tcpUp.listen(0, '127.0.0.1', r));
    web = await freePort();
    tcp = await freePort();
    // Nothing listens here: every forwardAuth request fails and the worker serving it logs that.
    const deadAuth = await freePort();
    const dir = tempDir('berth-shared-limits-');
    const dyn = join(dir, 'dynamic.yaml');
    const route = (host: string, middlewares: string[], service = 'up') => ({
      rule: `Host(\`${host}\`)`,
      service,
      middlewares,
    });
    writeFileSync(
      dyn,
      stringify({
        http: {
          routers: {
            plain: route('plain.test', []),
            limited: route('limited.test', ['rl']),
            slow: route('slow.test', ['inflight']),
            probe: route('probe.test', ['auth']),
            crash: route('crash.test', [], 'crash@internal'),
          },
          middlewares: {
            rl: { rateLimit: { average: 5, period: '1h', burst: 5 } },
            inflight: { inFlightReq: { amount: 3 } },
            auth: { forwardAuth: { address: `http://127.0.0.1:${deadAuth}` } },
          },
          services: { up: { loadBalancer: { servers: [{ url: up.url }] } } },
        },
        tcp: {
          routers: { db: { rule: 'HostSNI(`*`)', entryPoints: ['tcp'], service: 'db', middlewares: ['conns'] } },
          middlewares: { conns: { inFlightConn: { amount: 2 } } },
          services: {
            db: { loadBalancer: { servers: [{ address: `127.0.0.1:${(tcpUp.address() as AddressInfo).port}` }] } },
          },
        },
      }),
    );
    berth = await startBerth({
      dir,
      env: { BERTH_TEST_HOOKS: '1' },
      config: {
        workers: 2,
        log: { level: 'debug' },
        entryPoints: { web: { address: `127.0.0.1:${web}` }, tcp: { address: `127.0.0.1:${tcp}` } },
        providers: { file: { filename: dyn } },
      },
    });
    await waitUntil(async () => (await get(web, 'plain.test')) === 200, 'the configuration in the workers');
  });

  after(async () => {
    for (const res of held) res.end();
    for (const s of relayed) s.destroy();
    tcpUp?.close();
    const code = await berth?.stop();
    await up?.close();
    assert.equal(code, 0);
  });

  const workerIds = async (): Promise<number[]> => {
    const eps = await berth.api<{ name: string; workers?: number[] }[]>('/api/entrypoints');
    return eps.find((e) => e.name === 'web')?.workers ?? [];
  };

  /** Workers that served a `probe.test` request: each one logs its failed forwardAuth call. */
  const probed = (): Set<number> => {
    const served = new Set<number>();
    for (const line of berth.logs)
      if (line.includes('authentication server unreachable'))
        served.add((JSON.parse(line) as { worker: number }).worker);
    return served;
  };

  test('fresh connections are served by both workers', async () => {
    const ids = await workerIds();
    assert.equal(ids.length, 2);
    await Promise.all(Array.from({ length: 40 }, () => get(web, 'probe.test')));
    assert.deepEqual([...probed()].sort(), [...ids].sort());
  });

  test('rateLimit burst 5: exactly 5 of 40 concurrent fresh connections pass, the rest get 429', async () => {
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(web, 'limited.test')));
    assert.deepEqual(tally(statuses), { 200: 5, 429: 35 });
  });

  test('inFlightReq amount 3: of 12 concurrent slow requests exactly 3 reach the upstream', async () => {
    let refused = 0;
    const all = Array.from({ length: 12 }, () =>
      get(web, 'slow.test').then((s) => {
        if (s === 429) refused++;
        return s;
      }),
    );
    // Every request is either held by the upstream or already answered 429.
    await waitUntil(() => held.length + refused === 12, 'every request to be held or refused', 30_000);
    assert.equal(held.length, 3);
    assert.equal(refused, 9);
    for (const res of held.splice(0)) res.end('done');
    assert.deepEqual(tally(await Promise.all(all)), { 200: 3, 429: 9 });
    // The counts went back: three more fit again.
    const again = Array.from({ length: 3 }, () => get(web, 'slow.test'));
    await waitUntil(() => held.length === 3, 'three more requests held', 30_000);
    for (const res of held.splice(0)) res.end('done');
    assert.deepEqual(tally(await Promise.all(again)), { 200: 3 });
  });

  test('TCP inFlightConn amount 2: of 8 concurrent connections exactly 2 are relayed, the rest closed', async () => {
    /** Resolves with the upstream's answer, or null when berth closed the connection first. */
    const open = (): Promise<{ socket: Socket; answer: string | null }> =>
      new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: tcp });
        socket.on('error', () => undefined);
        socket.once('data', (d: Buffer) => resolve({ socket, answer: d.toString() }));
        socket.once('close', () => resolve({ socket, answer: null }));
        socket.on('connect', () => socket.write('hi'));
      });
    const results = await Promise.all(Array.from({ length: 8 }, open));
    assert.equal(results.filter((r) => r.answer === 'up:hi').length, 2);
    assert.equal(results.filter((r) => r.answer === null).length, 6);
    assert.equal(relayed.length, 2);
    // Closing one frees its count for the next connection, whichever worker accepts it.
    const first = results.find((r) => r.answer !== null)!;
    const gone = new Promise((r) => relayed[0]!.once('close', r));
    first.socket.destroy();
    await gone;
    await waitUntil(async () => {
      const next = await open();
      if (next.answer === null) return false;
      next.socket.destroy();
      return true;
    }, 'a connection to be relayed again');
    for (const r of results) r.socket.destroy();
  });

  test('the rate limit holds across a worker replacement (the state is the process’s)', async () => {
    const before = await workerIds();
    await get(web, 'crash.test').catch(() => 0);
    await waitUntil(
      async () => {
        const now = await workerIds();
        return now.length === 2 && now.filter((id) => before.includes(id)).length === 1;
      },
      'a replacement worker',
      30_000,
      100,
    );
    const replacement = (await workerIds()).find((id) => !before.includes(id));
    // Listed is not yet listening: wait until the replacement has served a request itself.
    await waitUntil(async () => {
      await get(web, 'probe.test');
      return replacement !== undefined && probed().has(replacement);
    }, 'the replacement to serve');
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get(web, 'limited.test')));
    assert.deepEqual(tally(statuses), { 429: 20 });
  });
});
