/**
 * Access-log cost: req/s through a berth process without an access log ("off") and through one
 * with `accessLog` writing JSON lines to a file ("on", the usual production setting), against the
 * same upstream (its own process). Both berth processes run the same way (same `workers`, log
 * level, routes); only the `accessLog` section differs. Target: the access log costs ≤ 5 %.
 *
 * A shared machine drifts by tens of percent within seconds, so one long round per side says
 * little. The bench runs many short rounds in pairs, alternating which side goes first (ABBA:
 * off-on, on-off, off-on, …), so drift hits both sides alike; each pair gives a ratio on/off, and
 * the statistic is the median of the pair ratios, with their quartiles and extremes as the spread.
 * Load comes from wrk (`-t1`, C, steadier than a JavaScript client on a busy machine) when it is
 * installed, else from autocannon. Both berth processes run one process by default (`--workers 1`):
 * with several data-plane workers, how the kernel spreads each round's connections over them
 * changes req/s by more than the access log does; the per-request cost is the same per worker.
 *
 * Each round also reads berth's CPU time (every thread of its process and workers, from /proc) and divides it by
 * the requests served: when berth is what limits throughput, req/s is inversely proportional to
 * CPU per request, and that ratio is far steadier than req/s when other work shares the cores.
 *
 * Other ways to pair the rounds, for machines whose speed changes within a second (steal time):
 * `--parallel` loads both processes at once; `--same-process` uses one berth with a logged and an
 * unlogged entrypoint; `--interleaved` does that with 250 ms phases from a closed-loop client in
 * this process. `--aa` runs any of them with no access log on either side, to see the noise.
 *
 * Before the load rounds it measures the access log in process (no sockets): CPU per logged
 * request with the writer formatting batches into bytes as it does in berth, and the part spent
 * on the request path itself (the `onResponse` hook).
 *
 * Run: `node bench/access-log.ts [--pairs 12] [--runs 1] [--duration 2] [--connections 32] [--workers 1|auto|N]
 *       [--format json|common] [--buffer 0] [--generator wrk|autocannon] [--micro-only] [--aa]
 *       [--parallel | --same-process | --interleaved [--phase-ms 250]] [--pin] [--log-to /dev/null]`
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { startBerth, type BerthProcess } from '../test/helpers/berth.ts';
import { freePort, waitUntil } from '../test/helpers/net.ts';
import { createAccessLog } from '../src/observability/access-log.ts';
import type { RequestContext } from '../src/http/handler.ts';
import { HeaderList } from '../src/engine/header-list.ts';
import { ProxyRequest } from '../src/engine/message.ts';
import { DISCARD_SINK, ProxyResponse } from '../src/engine/response.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const PAIRS = Number(arg('pairs', '12'));
/** Whole measurements, each with fresh processes, summarised as a mean with a 95 % interval. */
const RUNS = Math.max(1, Number(arg('runs', '1')));
const DURATION = Number(arg('duration', '2'));
const CONNECTIONS = Number(arg('connections', '32'));
const WORKERS = arg('workers', '1');
const FORMAT = arg('format', 'json');
const BUFFER = Number(arg('buffer', '0'));
const WRK = '/usr/bin/wrk';
const GENERATOR = arg('generator', existsSync(WRK) ? 'wrk' : 'autocannon');
const MICRO_ONLY = process.argv.includes('--micro-only');
/** A/A calibration: the second process has no access log either, so the ratios show the bench's own bias and noise. */
const AA = process.argv.includes('--aa');
/**
 * Both sides loaded at the same time, each by its own wrk, instead of one after the other: the
 * machine's drift then hits both within the same second, and the two processes share the cores
 * as the scheduler shares them between equals, so the req/s ratio is the inverse of the ratio of
 * CPU each spends per request. Far less spread per pair on a shared machine.
 */
const PARALLEL = process.argv.includes('--parallel');
/**
 * One berth process with two entrypoints on the same routes, one of them with
 * `observability.accessLogs: false`; the rounds alternate between them (ABBA). Both sides share
 * one process, so they share its JIT state, memory layout and placement on the cores, which
 * differ from one process to another by more than the access log costs. The unlogged side still
 * runs the access log's hook up to its entrypoint check (a set lookup).
 */
const INTERLEAVED = process.argv.includes('--interleaved');
const SAME = INTERLEAVED || process.argv.includes('--same-process');
const PHASE_MS = Number(arg('phase-ms', '250'));
/** Where the lines go instead of a file in the temp directory (`/dev/null`: formatting and the write call without the file system's work). */
const LOG_TO = process.argv.includes('--log-to') ? arg('log-to', '') : undefined;
/**
 * Berth (every thread of it, the log writes' thread pool included) on the first CPU, the load
 * generator and the upstream on the last: the proxy has a core of its own, as in production, and
 * everything the access log costs — formatting, the write system calls, V8's helper threads —
 * is taken from berth's core, not spread over the load generator's.
 */
const PIN = process.argv.includes('--pin');

// Every process this bench starts dies with it, whatever way it ends.
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

/** The part of autocannon's API used here (it ships no types). */
type Autocannon = (opts: {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  duration: number;
}) => Promise<{ requests: { average: number }; non2xx: number; errors: number }>;

/** GET through berth with a Host header (fetch cannot set Host). */
function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', headers: { host: 'bench.test' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A small upstream in its own process, so it does not share the load generator's event loop. */
async function startUpstream(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
    require('node:http').createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end('hello from the upstream\\n'); })
      .listen(${port}, '127.0.0.1');
  `,
    ],
    { stdio: 'ignore' },
  );
  children.push(child);
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/`)).ok, 'the upstream', 30_000);
  return { port, child };
}

/** Sets the CPU affinity of every thread of a process (`taskset`); wrk, started later, inherits this process's. */
function pin(pid: number, cpu: string): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset failed for pid ${pid}: ${r.stderr || r.error?.message}`);
}

/** One load round: req/s, and the requests completed (for CPU per request). */
interface Round {
  rps: number;
  requests: number;
}

/** Runs wrk for `seconds`. */
function wrk(port: number, seconds: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    // wrk's default 2 s timeout fails whole runs when other work starves the machine; bench/run.ts uses 10 s too.
    const child = spawn(
      WRK,
      [
        '-t1',
        `-c${CONNECTIONS}`,
        `-d${seconds}s`,
        '--timeout',
        '10s',
        '-H',
        'Host: bench.test',
        '-H',
        'User-Agent: wrk',
        `http://127.0.0.1:${port}/`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.on('error', reject);
    child.on('exit', () => {
      const rps = /Requests\/sec:\s*([\d.]+)/.exec(out);
      const total = /(\d+) requests in/.exec(out);
      const bad = /Non-2xx or 3xx responses:\s*(\d+)/.exec(out);
      const sock = /Socket errors:.*/.exec(out);
      if (!rps) {
        reject(new Error(`wrk gave no rate:\n${out}`));
        return;
      }
      if (bad || sock) {
        reject(new Error(`bad run: ${bad?.[0] ?? ''} ${sock?.[0] ?? ''}`));
        return;
      }
      resolve({ rps: Number(rps[1]), requests: Number(total?.[1] ?? 0) });
    });
  });
}

let autocannon: Autocannon | undefined;
async function load(port: number, seconds = DURATION): Promise<Round> {
  if (GENERATOR === 'wrk') return wrk(port, seconds);
  autocannon ??= createRequire(import.meta.url)('autocannon') as Autocannon;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    headers: { host: 'bench.test', 'user-agent': 'autocannon' },
    connections: CONNECTIONS,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`bad run: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, requests: result.requests.average * seconds };
}

/** Newlines in a file, read in pieces (a log of a long run is larger than the longest string). */
function countLines(path: string): number {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  try {
    for (let got = readSync(fd, buf); got > 0; got = readSync(fd, buf)) {
      for (let i = buf.indexOf(10); i >= 0 && i < got; i = buf.indexOf(10, i + 1)) n++;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}

/**
 * CPU nanoseconds spent so far by every thread of a process and its descendants (its workers),
 * from `/proc/<pid>/task/<tid>/schedstat`.
 */
function cpuNs(root: number): number {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The field after the command (which may hold spaces and parentheses) and the state: ppid.
      parent.set(Number(name), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  let total = 0;
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`))
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* gone */
    }
    for (const [child, ppid] of parent) if (ppid === pid) todo.push(child);
  }
  return total;
}

/** CPU nanoseconds spent so far by a process's main thread (the request thread when it serves alone). */
function mainThreadNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

/**
 * Keep-alive connections that each send the next request once the previous answer is complete
 * (a closed loop, as wrk), and that can be paused between phases.
 */
class ClosedLoop {
  completed = 0;
  private active = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private readonly conns: { sock: Socket; buf: Buffer; busy: boolean }[] = [];
  private static readonly REQ = Buffer.from('GET / HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bench\r\n\r\n');

  static async open(port: number, n: number): Promise<ClosedLoop> {
    const l = new ClosedLoop();
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const sock = connect({ host: '127.0.0.1', port }, () => resolve());
            sock.setNoDelay(true);
            const c = { sock, buf: Buffer.alloc(0), busy: false };
            l.conns.push(c);
            sock.on('error', reject);
            sock.on('data', (d: Buffer) => l.onData(c, d));
          }),
      ),
    );
    return l;
  }

  private onData(c: { sock: Socket; buf: Buffer; busy: boolean }, d: Buffer): void {
    c.buf = c.buf.length === 0 ? d : Buffer.concat([c.buf, d]);
    const head = c.buf.indexOf('\r\n\r\n');
    if (head < 0) return;
    if (!c.buf.subarray(0, 12).equals(Buffer.from('HTTP/1.1 200')))
      throw new Error(`bad answer: ${c.buf.subarray(0, 40).toString()}`);
    const m = /content-length: *(\d+)/i.exec(c.buf.subarray(0, head).toString('latin1'));
    const total = head + 4 + Number(m?.[1] ?? 0);
    if (c.buf.length < total) return;
    c.buf = c.buf.subarray(total);
    c.busy = false;
    this.inFlight--;
    this.completed++;
    if (this.active) this.send(c);
    else if (this.inFlight === 0) this.idle?.();
  }

  private send(c: { sock: Socket; busy: boolean }): void {
    c.busy = true;
    this.inFlight++;
    c.sock.write(ClosedLoop.REQ);
  }

  start(): void {
    this.active = true;
    for (const c of this.conns) if (!c.busy) this.send(c);
  }

  /** Stops sending; resolves when every answer owed has arrived. */
  stop(): Promise<void> {
    this.active = false;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => {
      this.idle = () => {
        this.idle = undefined;
        r();
      };
    });
  }

  close(): void {
    for (const c of this.conns) c.sock.destroy();
  }
}

/** One phase of `--interleaved`: load one side for PHASE_MS; req/s and CPU µs per request. */
async function phase(pid: number, loop: ClosedLoop): Promise<Sample> {
  const n0 = loop.completed;
  const c0 = cpuNs(pid);
  const m0 = mainThreadNs(pid);
  const t0 = performance.now();
  loop.start();
  await new Promise((r) => setTimeout(r, PHASE_MS));
  await loop.stop();
  const n = loop.completed - n0;
  return {
    rps: (n * 1000) / (performance.now() - t0),
    cpuUs: (cpuNs(pid) - c0) / 1000 / n,
    mainUs: (mainThreadNs(pid) - m0) / 1000 / n,
  };
}

/** One round's req/s, CPU µs per request of berth's threads and processes, and of its main thread. */
interface Sample {
  rps: number;
  cpuUs: number;
  mainUs: number;
}

/** A round against one berth: req/s and berth's CPU µs per request. */
async function measure(v: { berth: BerthProcess; port: number }): Promise<Sample> {
  const c0 = cpuNs(v.berth.pid);
  const m0 = mainThreadNs(v.berth.pid);
  const r = await load(v.port);
  const cpu = (cpuNs(v.berth.pid) - c0) / 1e9;
  const main = (mainThreadNs(v.berth.pid) - m0) / 1e9;
  return {
    rps: r.rps,
    cpuUs: r.requests > 0 ? (cpu * 1e6) / r.requests : NaN,
    mainUs: r.requests > 0 ? (main * 1e6) / r.requests : NaN,
  };
}

async function variant(
  withLog: boolean,
  dir: string,
  upstreamPort: number,
): Promise<{ berth: BerthProcess; port: number; logPath: string }> {
  const port = await freePort();
  const dynPath = join(dir, 'dynamic.yaml');
  writeFileSync(
    dynPath,
    `http:\n  routers:\n    bench: { rule: "Host(\`bench.test\`)", service: bench }\n  services:\n    bench: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${upstreamPort}" }] } }\n`,
  );
  const logPath = LOG_TO ?? join(dir, `access-${withLog ? 'on' : 'off'}.log`);
  const own = join(dir, withLog ? 'on' : 'off');
  mkdirSync(own, { recursive: true });
  const berth = await startBerth({
    dir: own,
    config: {
      log: { level: 'warn' },
      workers: WORKERS === 'auto' ? 'auto' : Number(WORKERS),
      entryPoints: { web: { address: `127.0.0.1:${port}` } },
      providers: { file: { filename: dynPath } },
      ...(withLog
        ? { accessLog: { filePath: logPath, format: FORMAT, ...(BUFFER > 0 ? { bufferingSize: BUFFER } : {}) } }
        : {}),
    },
  });
  children.push(berth.child);
  await waitUntil(async () => (await get(port)) === 200, 'the bench route', 30_000);
  return { berth, port, logPath };
}

/**
 * The access log alone, in this process: CPU ns per logged request (request path + batch
 * formatting + encoding, the write discarded) and the request-path part alone (wall time inside
 * `onResponse`). Independent of sockets; compare it with the CPU a proxied request costs.
 */
async function micro(format: 'json' | 'common'): Promise<{ total: number; hook: number }> {
  // No write delay: each turn of this loop is one write, as a busy berth's 20 ms are.
  const log = createAccessLog(
    { format },
    {
      writeDelayMs: 0,
      sink: {
        write: (_chunks, done) => {
          setImmediate(() => done(null));
        },
        close() {},
      },
    },
  )!;
  const req = new ProxyRequest(
    'GET',
    '/some/path?x=1',
    new HeaderList(['Host', 'bench.test', 'User-Agent', 'wrk']),
    null,
    1,
    1,
    undefined,
    '127.0.0.1',
    40000,
  );
  const res = new ProxyResponse(req, DISCARD_SINK);
  const N = 100_000;
  // Requests finish a few per event-loop turn, as under load.
  const PER_TURN = 16;
  const ctxs = Array.from(
    { length: PER_TURN },
    (): RequestContext => ({
      entrypoint: 'web',
      scheme: 'http',
      remoteIp: '127.0.0.1',
      clientIp: '127.0.0.1',
      trustedPeer: false,
      host: 'bench.test',
      path: '/some/path',
      start: 0,
      router: 'bench@file',
      service: 'bench@file',
      upstream: 'http://127.0.0.1:8080',
    }),
  );
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };
  let best = Infinity;
  let bestHook = Infinity;
  let bestLoop = Infinity;
  for (let round = 0; round < 7; round++) {
    // The same loop without the access log, to subtract.
    let c0 = cpu();
    for (let i = 0; i < N; i += PER_TURN) {
      const now = performance.now();
      for (const c of ctxs) (c as { start: number }).start = now;
      await turn();
    }
    bestLoop = Math.min(bestLoop, (cpu() - c0) / N);
    let hook = 0;
    c0 = cpu();
    for (let i = 0; i < N; i += PER_TURN) {
      const now = performance.now();
      for (const c of ctxs) {
        (c as { start: number }).start = now - 0.2;
        log.onResponse(req, res, c);
      }
      hook += performance.now() - now;
      await turn();
    }
    await log.flush();
    best = Math.min(best, (cpu() - c0) / N);
    bestHook = Math.min(bestHook, (hook * 1e6) / N);
  }
  await log.close();
  return { total: best - bestLoop, hook: bestHook };
}

const median = (xs: readonly number[]): number => quantile(xs, 0.5);
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
const pct = (ratio: number): string => {
  const d = (1 - ratio) * 100;
  return d >= 0 ? `${d.toFixed(1)} % slower` : `${(-d).toFixed(1)} % faster`;
};

/** One berth with a logged entrypoint (`on`) and an unlogged one (`off`), see `--same-process`. */
async function sharedVariants(
  dir: string,
  upstreamPort: number,
): Promise<{ off: Awaited<ReturnType<typeof variant>>; on: Awaited<ReturnType<typeof variant>> }> {
  const [webPort, quietPort] = [await freePort(), await freePort()];
  const dynPath = join(dir, 'dynamic.yaml');
  writeFileSync(
    dynPath,
    `http:\n  routers:\n    bench: { rule: "Host(\`bench.test\`)", service: bench, entryPoints: [web, quiet] }\n  services:\n    bench: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${upstreamPort}" }] } }\n`,
  );
  const logPath = LOG_TO ?? join(dir, 'access-on.log');
  const berth = await startBerth({
    dir,
    config: {
      log: { level: 'warn' },
      workers: WORKERS === 'auto' ? 'auto' : Number(WORKERS),
      // A/A: neither entrypoint logs.
      entryPoints: {
        web: { address: `127.0.0.1:${webPort}`, ...(AA ? { observability: { accessLogs: false } } : {}) },
        quiet: { address: `127.0.0.1:${quietPort}`, observability: { accessLogs: false } },
      },
      providers: { file: { filename: dynPath } },
      accessLog: { filePath: logPath, format: FORMAT, ...(BUFFER > 0 ? { bufferingSize: BUFFER } : {}) },
    },
  });
  children.push(berth.child);
  await waitUntil(
    async () => (await get(webPort)) === 200 && (await get(quietPort)) === 200,
    'the bench route',
    30_000,
  );
  return { off: { berth, port: quietPort, logPath }, on: { berth, port: webPort, logPath } };
}

async function main(): Promise<void> {
  for (const f of ['json', 'common'] as const) {
    const m = await micro(f);
    console.log(
      `in process, ${f}: ${(m.total / 1000).toFixed(2)} µs CPU per logged request (formatting and copying into write buffers included), ${(m.hook / 1000).toFixed(2)} µs of it in onResponse`,
    );
  }
  if (MICRO_ONLY) return;
  if (GENERATOR === 'wrk' && spawnSync(WRK, ['--version']).error)
    throw new Error(`${WRK} is not runnable; use --generator autocannon`);
  const runs: RunResult[] = [];
  for (let r = 0; r < RUNS; r++) {
    if (RUNS > 1) console.log(`\nrun ${r + 1} of ${RUNS}`);
    runs.push(await measureRun());
  }
  if (RUNS > 1) summarise(runs);
}

/** What one run concludes: the medians of its pair ratios (on/off req/s; off/on CPU per request). */
interface RunResult {
  rps: number;
  cpu: number;
}

/**
 * Across runs (each with fresh processes): the mean slowdown and a 95 % interval for it. A run's
 * processes differ from the next run's in ways pairs within a run cannot average out (placement,
 * JIT decisions), so the spread between runs is what a verdict has to clear.
 */
function summarise(runs: readonly RunResult[]): void {
  const stats = (xs: readonly number[]): { mean: number; half: number } => {
    const n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    // Student's t, two-sided 95 %, for n − 1 degrees of freedom (1.96 beyond the table).
    const t = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13][n - 2] ?? 1.96;
    return { mean, half: (t * sd) / Math.sqrt(n) };
  };
  const line = (name: string, slow: readonly number[]): string => {
    const { mean, half } = stats(slow);
    return `${name}, % slower per run (negative: faster): ${slow.map((x) => x.toFixed(1)).join(', ')}; mean ${mean.toFixed(1)} %, 95 % interval ${(mean - half).toFixed(1)} to ${(mean + half).toFixed(1)} % → ${mean + half <= 5 ? 'met' : mean - half > 5 ? 'NOT met' : 'undecided (the interval contains 5 %)'}`;
  };
  console.log(`\n${runs.length} runs, target ≤ 5 % slower`);
  console.log(
    line(
      'req/s',
      runs.map((r) => (1 - r.rps) * 100),
    ),
  );
  console.log(
    line(
      'CPU-bound throughput',
      runs.map((r) => (1 - r.cpu) * 100),
    ),
  );
}

/** One run: fresh upstream and berth processes, warm-up, then the pairs; prints its own report. */
async function measureRun(): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-al-'));
  let off: Awaited<ReturnType<typeof variant>> | undefined;
  let on: Awaited<ReturnType<typeof variant>> | undefined;
  let up: Awaited<ReturnType<typeof startUpstream>> | undefined;
  const load0 = loadavg();
  try {
    up = await startUpstream();
    if (SAME) ({ off, on } = await sharedVariants(dir, up.port));
    else {
      off = await variant(false, dir, up.port);
      on = await variant(!AA, dir, up.port);
    }
    if (PIN) {
      const last = String(cpus().length - 1);
      for (const pid of new Set([off.berth.pid, on.berth.pid])) pin(pid, '0');
      pin(up.child.pid!, last);
      pin(process.pid, last);
    }
    // Warm both (JIT, keep-alive pools) before measuring.
    await load(off.port, 2);
    await load(on.port, 2);
    const loops = INTERLEAVED
      ? { off: await ClosedLoop.open(off.port, CONNECTIONS), on: await ClosedLoop.open(on.port, CONNECTIONS) }
      : undefined;
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const offRuns: number[] = [];
    const onRuns: number[] = [];
    const offCpu: number[] = [];
    const onCpu: number[] = [];
    const offMain: number[] = [];
    const onMain: number[] = [];
    for (let p = 0; p < PAIRS; p++) {
      // ABBA: off-on, on-off, …: a machine getting slower or faster within a pair favours each side equally often.
      let a: Sample;
      let b: Sample;
      if (loops) {
        if (p % 2 === 0) {
          a = await phase(off.berth.pid, loops.off);
          b = await phase(on.berth.pid, loops.on);
        } else {
          b = await phase(on.berth.pid, loops.on);
          a = await phase(off.berth.pid, loops.off);
        }
      } else if (PARALLEL) [a, b] = await Promise.all([measure(off), measure(on)]);
      else if (p % 2 === 0) {
        a = await measure(off);
        b = await measure(on);
      } else {
        b = await measure(on);
        a = await measure(off);
      }
      offRuns.push(a.rps);
      onRuns.push(b.rps);
      offCpu.push(a.cpuUs);
      onCpu.push(b.cpuUs);
      offMain.push(a.mainUs);
      onMain.push(b.mainUs);
      ratios.push(b.rps / a.rps);
      cpuRatios.push(a.cpuUs / b.cpuUs);
      console.log(
        `pair ${String(p + 1).padStart(2)} (${PARALLEL ? 'together' : p % 2 === 0 ? 'off→on' : 'on→off'}): off ${a.rps.toFixed(0)} req/s ${a.cpuUs.toFixed(0)} µs CPU/req, on ${b.rps.toFixed(0)} req/s ${b.cpuUs.toFixed(0)} µs CPU/req; req/s ratio ${(b.rps / a.rps).toFixed(3)}, CPU ratio ${(a.cpuUs / b.cpuUs).toFixed(3)}`,
      );
    }
    const lines = AA || LOG_TO !== undefined || !existsSync(on.logPath) ? 0 : countLines(on.logPath);
    const med = median(ratios);
    const cpuMed = median(cpuRatios);
    console.log(
      `\n${AA ? 'A/A CALIBRATION (no access log on either side); ' : ''}access log: ${FORMAT} to a file${BUFFER > 0 ? `, bufferingSize ${BUFFER}` : ''}; ${INTERLEAVED ? 'closed-loop client in the bench' : GENERATOR}, ${CONNECTIONS} connections, workers ${WORKERS}, ${PAIRS} pairs × ${INTERLEAVED ? `${PHASE_MS} ms` : `${DURATION} s`} (${PARALLEL ? 'both sides loaded together' : 'ABBA'}${SAME ? ', one process: logged vs unlogged entrypoint' : ''})`,
    );
    console.log(
      `load average at start ${load0.map((x) => x.toFixed(1)).join(' / ')}, at end ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' / ')}`,
    );
    console.log(
      `without access log: median ${median(offRuns).toFixed(0)} req/s (range ${Math.min(...offRuns).toFixed(0)}–${Math.max(...offRuns).toFixed(0)}), ${median(offCpu).toFixed(1)} µs berth CPU per request (${median(offMain).toFixed(1)} µs in its main thread)`,
    );
    console.log(
      `with access log:    median ${median(onRuns).toFixed(0)} req/s (range ${Math.min(...onRuns).toFixed(0)}–${Math.max(...onRuns).toFixed(0)}), ${median(onCpu).toFixed(1)} µs berth CPU per request (${median(onMain).toFixed(1)} µs in its main thread); ${lines} lines, ${AA || LOG_TO !== undefined || !existsSync(on.logPath) ? 0 : (statSync(on.logPath).size / 1024 / 1024).toFixed(1)} MiB written`,
    );
    console.log(
      `req/s ratio on/off, per pair: median ${med.toFixed(3)} (${pct(med)}), quartiles ${quantile(ratios, 0.25).toFixed(3)}–${quantile(ratios, 0.75).toFixed(3)}, range ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}`,
    );
    // Throughput when berth is the bottleneck is inversely proportional to its CPU per request; this
    // ratio is far less sensitive to other work on the machine than req/s.
    console.log(
      `CPU-bound throughput ratio (CPU per request off/on), per pair: median ${cpuMed.toFixed(3)} (${pct(cpuMed)}), quartiles ${quantile(cpuRatios, 0.25).toFixed(3)}–${quantile(cpuRatios, 0.75).toFixed(3)}, range ${Math.min(...cpuRatios).toFixed(3)}–${Math.max(...cpuRatios).toFixed(3)}`,
    );
    console.log(
      `target ≤ 5 % slower: req/s ${med >= 0.95 ? 'met' : 'NOT met'}, CPU per request ${cpuMed >= 0.95 ? 'met' : 'NOT met'}`,
    );
    return { rps: med, cpu: cpuMed };
  } finally {
    await Promise.all([off?.berth.stop(), on?.berth !== off?.berth ? on?.berth.stop() : undefined]);
    up?.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
