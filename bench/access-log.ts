/**
 * Access-log cost: autocannon req/s through a berth process without an access log, and with
 * `accessLog` writing JSON lines to a file (the usual production setting), against the same
 * upstream (its own process). Rounds alternate so drift on a busy machine hits both sides; the
 * best round of each counts. Target: the access log costs at most 5 %.
 *
 * Run: `node bench/access-log.ts [--duration 5] [--connections 32] [--rounds 3] [--format json|common] [--buffer 0]`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { startBerth, type BerthProcess } from '../test/helpers/berth.ts';
import { freePort, waitUntil } from '../test/helpers/net.ts';
import { createAccessLog } from '../src/observability/access-log.ts';
import type { RequestContext } from '../src/http/handler.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const DURATION = Number(arg('duration', '5'));
const CONNECTIONS = Number(arg('connections', '32'));
const ROUNDS = Number(arg('rounds', '3'));
const FORMAT = arg('format', 'json');
const BUFFER = Number(arg('buffer', '0'));

// Every process this bench starts dies with it, whatever way it ends.
const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

/** A small upstream in its own process, so it does not share the load generator's event loop. */
/** The part of autocannon's API used here (it ships no types). */
type Autocannon = (opts: { url: string; headers?: Record<string, string>; connections: number; duration: number }) => Promise<{ requests: { average: number }; non2xx: number; errors: number }>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** GET through berth with a Host header (fetch cannot set Host). */
function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: 'bench.test' }, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

async function startUpstream(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', `
    require('node:http').createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end('hello from the upstream\\n'); })
      .listen(${port}, '127.0.0.1');
  `], { stdio: 'ignore' });
  children.push(child);
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/`)).ok, 'the upstream', 30_000);
  return { port, child };
}

async function load(port: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    headers: { host: 'bench.test', 'user-agent': 'autocannon' },
    connections: CONNECTIONS,
    duration: DURATION,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`bad run: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

async function variant(withLog: boolean, dir: string, upstreamPort: number): Promise<{ berth: BerthProcess; port: number; logPath: string }> {
  const port = await freePort();
  const dynPath = join(dir, 'dynamic.yaml');
  writeFileSync(dynPath, `http:\n  routers:\n    bench: { rule: "Host(\`bench.test\`)", service: bench }\n  services:\n    bench: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${upstreamPort}" }] } }\n`);
  const logPath = join(dir, `access-${withLog ? 'on' : 'off'}.log`);
  const own = join(dir, withLog ? 'on' : 'off');
  mkdirSync(own, { recursive: true });
  const berth = await startBerth({
    dir: own,
    config: {
      log: { level: 'warn' },
      entryPoints: { web: { address: `127.0.0.1:${port}` } },
      providers: { file: { filename: dynPath } },
      ...(withLog ? { accessLog: { filePath: logPath, format: FORMAT, ...(BUFFER > 0 ? { bufferingSize: BUFFER } : {}) } } : {}),
    },
  });
  children.push(berth.child);
  await waitUntil(async () => (await get(port)) === 200, 'the bench route', 30_000);
  return { berth, port, logPath };
}

/**
 * The hook alone, in this process: ns per logged request (record, format, buffer) with a sink that
 * discards. Independent of machine load, unlike req/s; compare it with the per-request time above.
 */
async function micro(format: 'json' | 'common'): Promise<number> {
  const log = createAccessLog({ format }, { sink: { write: (_t, done) => setImmediate(() => done(null)), close() {} } })!;
  const req = { method: 'GET', url: '/some/path?x=1', httpVersion: '1.1', headers: { host: 'bench.test', 'user-agent': 'autocannon' }, socket: { remoteAddress: '127.0.0.1', remotePort: 40000 } };
  const res = { statusCode: 200, getHeaders: () => ({}) };
  const N = 200_000;
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const ctx: RequestContext = { entrypoint: 'web', scheme: 'http', remoteIp: '127.0.0.1', clientIp: '127.0.0.1', trustedPeer: false, host: 'bench.test', path: '/some/path', start: t0, router: 'bench@file', service: 'bench@file', upstream: 'http://127.0.0.1:8080' };
      log.onResponse(req as never, res as never, ctx);
      // Let the writer run as the event loop would between requests.
      if ((i & 255) === 255) await new Promise((r) => setImmediate(r));
    }
    best = Math.min(best, ((performance.now() - t0) * 1e6) / N);
    await log.flush();
  }
  await log.close();
  return best;
}

async function main(): Promise<void> {
  console.log(`hook cost (in process, no I/O): json ${(await micro('json')).toFixed(0)} ns/request, common ${(await micro('common')).toFixed(0)} ns/request`);
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-al-'));
  let off: Awaited<ReturnType<typeof variant>> | undefined;
  let on: Awaited<ReturnType<typeof variant>> | undefined;
  try {
    const up = await startUpstream();
    off = await variant(false, dir, up.port);
    on = await variant(true, dir, up.port);
    // Warm both (JIT, keep-alive pools) before measuring.
    const warm = DURATION;
    await autocannon({ url: `http://127.0.0.1:${off.port}/`, headers: { host: 'bench.test' }, connections: CONNECTIONS, duration: Math.min(2, warm) });
    await autocannon({ url: `http://127.0.0.1:${on.port}/`, headers: { host: 'bench.test' }, connections: CONNECTIONS, duration: Math.min(2, warm) });
    const offRuns: number[] = [];
    const onRuns: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so a slow phase of the machine does not favour one side.
      if (r % 2 === 0) { offRuns.push(await load(off.port)); onRuns.push(await load(on.port)); } else { onRuns.push(await load(on.port)); offRuns.push(await load(off.port)); }
      console.log(`round ${r + 1}: without ${offRuns.at(-1)!.toFixed(0)} req/s, with ${onRuns.at(-1)!.toFixed(0)} req/s`);
    }
    const best = (xs: number[]): number => Math.max(...xs);
    const bOff = best(offRuns);
    const bOn = best(onRuns);
    const lines = readFileSync(on.logPath, 'utf8').split('\n').length - 1;
    const slower = (1 - bOn / bOff) * 100;
    console.log(`\naccess log: ${FORMAT} to a file${BUFFER > 0 ? `, bufferingSize ${BUFFER}` : ''}; ${CONNECTIONS} connections, ${DURATION} s x ${ROUNDS} rounds (best round)`);
    console.log(`without access log: ${bOff.toFixed(0)} req/s (${(1e6 / bOff).toFixed(0)} µs of wall time per request)`);
    console.log(`with access log:    ${bOn.toFixed(0)} req/s (${lines} lines, ${(statSync(on.logPath).size / 1024 / 1024).toFixed(1)} MiB written)`);
    console.log(`ratio with/without: ${(bOn / bOff).toFixed(3)} (${slower >= 0 ? `${slower.toFixed(1)} % slower` : `${(-slower).toFixed(1)} % faster`}; target ≤ 5 % slower)`);
  } finally {
    await Promise.all([off?.berth.stop(), on?.berth.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
