/**
 * berth's memory and start-up cost, measured as proportional set size (PSS: shared pages counted
 * once across the process tree, unlike RSS) from /proc/PID/smaps_rollup:
 *
 * - idle: one router, answered once, then 2 s of quiet;
 * - 10,000 `Host()` routers from the file provider: PSS 12 s after start, and how long after start
 *   the last of them is served;
 * - nginx, HAProxy and Caddy idle with the same single route (`--peers`), when installed.
 *
 * Usage: node bench/memory.ts [--routers 10000] [--workers auto] [--peers] [--runs 1]
 * (BERTH_ROOT=/path/to/checkout measures another version of berth)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { treePssKb } from './lib/proc.ts';
import { SHIPPED_ENV } from './lib/shipped-env.ts';

/** The berth checkout to measure (another one's `src/main.ts` compares two versions). */
const ROOT = resolve(process.env.BERTH_ROOT ?? resolve(import.meta.dirname, '..'));

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

/** One GET; the status, or 0 when the connection failed. */
function get(port: number, host: string): Promise<number> {
  return new Promise((res) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode ?? 0));
    });
    req.on('error', () => res(0));
    req.setTimeout(2000, () => req.destroy());
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Started {
  readonly child: ChildProcess;
  readonly startedAt: number;
  readonly output: string[];
  stop(): Promise<void>;
}

function start(cmd: string, args: readonly string[], env: Record<string, string> = {}): Started {
  const startedAt = performance.now();
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const output: string[] = [];
  child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    startedAt,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Starts berth with `routers` Host routers (plus a base one) and the given worker count. */
async function startBerth(
  dir: string,
  upstream: number,
  routers: number,
  workers: string,
): Promise<Started & { port: number }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const api = await freePort();
  const dyn = join(dir, 'dynamic.yaml');
  const r: Record<string, unknown> = { base: { rule: 'Host(`bench.test`)', service: 'up' } };
  for (let i = 0; i < routers; i++) r[`h${i}`] = { rule: `Host(\`h${i}.bench.test\`)`, service: 'up' };
  writeFileSync(
    dyn,
    stringify({
      http: { routers: r, services: { up: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${upstream}` }] } } } },
    }),
  );
  const cfg = join(dir, 'berth.yaml');
  writeFileSync(
    cfg,
    stringify({
      workers: workers === 'auto' ? 'auto' : Number(workers),
      entryPoints: { web: { address: `127.0.0.1:${port}` } },
      providers: { file: { filename: dyn, watch: false } },
      api: { listen: `127.0.0.1:${api}` },
      edge: { stateDir: join(dir, 'state') },
      log: { level: 'error' },
    }),
  );
  return { ...start(process.execPath, [join(ROOT, 'src/main.ts'), 'run', '-c', cfg], SHIPPED_ENV), port };
}

interface Row {
  readonly what: string;
  readonly pssMb: number;
  readonly lastHostMs?: number;
  readonly settledMb?: number;
}

async function measureIdle(dir: string, upstream: number, workers: string): Promise<Row> {
  const b = await startBerth(dir, upstream, 0, workers);
  try {
    await until(async () => (await get(b.port, 'bench.test')) === 200, 30_000, `berth to serve\n${b.output.join('')}`);
    await sleep(2000);
    return { what: `berth idle (workers ${workers})`, pssMb: treePssKb(b.child.pid!) / 1024 };
  } finally {
    await b.stop();
  }
}

async function measureRouters(dir: string, upstream: number, routers: number, workers: string): Promise<Row> {
  const b = await startBerth(dir, upstream, routers, workers);
  try {
    const last = `h${routers - 1}.bench.test`;
    await until(async () => (await get(b.port, last)) === 200, 60_000, `the last host\n${b.output.join('')}`);
    const lastHostMs = performance.now() - b.startedAt;
    const wait = 12_000 - (performance.now() - b.startedAt);
    if (wait > 0) await sleep(wait);
    const at12 = treePssKb(b.child.pid!) / 1024;
    // On a busy machine start-up may outlast 12 s: also measured 5 s after the last host was served.
    const settle = lastHostMs + 5000 - (performance.now() - b.startedAt);
    if (settle > 0) await sleep(settle);
    return {
      what: `berth ${routers} routers at 12 s (workers ${workers})`,
      pssMb: at12,
      lastHostMs,
      settledMb: treePssKb(b.child.pid!) / 1024,
    };
  } finally {
    await b.stop();
  }
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** nginx, HAProxy and Caddy idle with one route to the upstream, answered once. */
async function measurePeers(dir: string, upstream: number): Promise<Row[]> {
  const rows: Row[] = [];
  const peers: Record<string, (port: number, d: string) => [string, string[]]> = {
    nginx: (port, d) => {
      writeFileSync(
        join(d, 'nginx.conf'),
        `worker_processes auto; pid ${d}/nginx.pid; daemon off; error_log ${d}/error.log error;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${d}; proxy_temp_path ${d}; fastcgi_temp_path ${d}; uwsgi_temp_path ${d}; scgi_temp_path ${d};
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://127.0.0.1:${upstream}; } } }\n`,
      );
      return ['nginx', ['-p', d, '-c', join(d, 'nginx.conf'), '-e', join(d, 'error.log')]];
    },
    haproxy: (port, d) => {
      writeFileSync(
        join(d, 'haproxy.cfg'),
        `global\n  log stdout format raw local0 err\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend web\n  bind 127.0.0.1:${port}\n  default_backend up\nbackend up\n  server s1 127.0.0.1:${upstream}\n`,
      );
      return ['haproxy', ['-db', '-f', join(d, 'haproxy.cfg')]];
    },
    caddy: (port, d) => {
      writeFileSync(
        join(d, 'Caddyfile'),
        `{\n  admin off\n  auto_https off\n}\nhttp://:${port} {\n  bind 127.0.0.1\n  reverse_proxy 127.0.0.1:${upstream}\n}\n`,
      );
      return ['caddy', ['run', '--config', join(d, 'Caddyfile'), '--adapter', 'caddyfile']];
    },
  };
  for (const [name, conf] of Object.entries(peers)) {
    if (!has(name)) continue;
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    const port = await freePort();
    const [cmd, args] = conf(port, d);
    const p = start(cmd, args, { HOME: d, XDG_DATA_HOME: d, XDG_CONFIG_HOME: d });
    try {
      await until(
        async () => (await get(port, 'bench.test')) === 200,
        30_000,
        `${name} to serve\n${p.output.join('')}`,
      );
      await sleep(2000);
      rows.push({ what: `${name} idle`, pssMb: treePssKb(p.child.pid!) / 1024 });
    } finally {
      await p.stop();
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      routers: { type: 'string', default: '10000' },
      workers: { type: 'string', default: 'auto' },
      peers: { type: 'boolean', default: false },
      runs: { type: 'string', default: '1' },
    },
  });
  const routers = Number(values.routers);
  const dir = mkdtempSync(join(tmpdir(), 'berth-memory-'));
  const upstream: Server = createServer((_req, res) => {
    res.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upPort = (upstream.address() as AddressInfo).port;
  const rows: Row[] = [];
  try {
    for (let i = 0; i < Number(values.runs); i++) {
      rows.push(await measureIdle(join(dir, `idle-${i}`), upPort, values.workers));
      if (routers > 0) rows.push(await measureRouters(join(dir, `routers-${i}`), upPort, routers, values.workers));
    }
    if (values.peers) rows.push(...(await measurePeers(dir, upPort)));
  } finally {
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    '| what | PSS (MB) | last host served after start | PSS 5 s after the last host (MB) |\n|---|---:|---:|---:|\n',
  );
  for (const r of rows)
    process.stdout.write(
      `| ${r.what} | ${r.pssMb.toFixed(1)} | ${r.lastHostMs === undefined ? '' : `${(r.lastHostMs / 1000).toFixed(2)} s`} | ${r.settledMb?.toFixed(1) ?? ''} |\n`,
    );
}

await main();
