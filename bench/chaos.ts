/**
 * Chaos soak: mixed traffic (HTTP, HTTPS, WebSocket, TCP, UDP, Docker-labelled routes) through one
 * berth (its primary process and data-plane workers) while faults are injected, then a report of
 * attempts, latency and failures by cause, crashes, unhandled errors in berth's log, and PSS
 * (shared pages counted once) / file-descriptor readings per process (primary, worker1, …) and summed.
 *
 * Phases: warm-up traffic without faults (`--warmup`, s), idle (`--settle`, s), BASELINE reading;
 * traffic with faults (`--minutes`), PEAK = highest reading while it runs; idle again (`--settle`),
 * SETTLED reading. Baseline and settled are both taken idle after traffic, so the drift is what the
 * long run left behind that the warm-up did not. The driver keeps only bounded counters and
 * histograms (and drains berth's log lines as they come), so it runs for hours.
 *
 *   node bench/chaos.ts               # 10 minutes (+ 30 s warm-up, 2 × 60 s idle)
 *   node bench/chaos.ts --minutes 2 --warmup 20 --settle 45
 *   node bench/chaos.ts --minutes 2 --workers 1   # default: auto, berth's default (one per core)
 *   node bench/chaos.ts --minutes 1 --heap-dir /tmp/heap   # heap snapshots at baseline and settled
 *   node bench/chaos.ts --minutes 1 --mem-probe  # process.memoryUsage() and V8 spaces per process (inspector on loopback)
 *   node bench/chaos.ts --minutes 1 --gc-probe   # also PSS after a forced full GC (inspector on loopback)
 *   node bench/chaos.ts --minutes 2 --berth-env NODE_OPTIONS=--max-semi-space-size=8   # extra env for berth
 *
 * Faults, in rotation every few seconds:
 * - docker: a container flaps (stop/start), and one Docker daemon is killed and restarted
 *   (real dockerd via test/helpers/dockerd.ts; skipped with a note when dockerd is missing);
 * - the HTTP provider serves garbage for a while, then good config again;
 * - the file provider's file is replaced by garbage, then restored;
 * - the ACME server (pebble) goes away and comes back (when pebble is installed);
 * - berth receives SIGHUP.
 * A failed request is "explained" when it targets the part being faulted at that moment (the
 * flapping container's route); every other failure is unexplained and makes the run fail.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { stringify } from 'yaml';
import { startBerth } from '../test/helpers/berth.ts';
import { freePort, waitUntil } from '../test/helpers/net.ts';
import { hasTool } from '../test/helpers/tools.ts';
import { buildCertificate } from '../src/tls/x509-builder.ts';
import {
  BoundedCounter,
  Histogram,
  LogWatch,
  childPids,
  fdKinds,
  inspectorCall,
  inspectorMemory,
  readTree,
  type TreeReading,
} from './lib/chaos-stats.ts';

const argValue = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const MINUTES = Number(argValue('--minutes') ?? process.env.CHAOS_MINUTES ?? 10);
const DURATION_MS = Math.max(0.2, MINUTES) * 60_000;
// Warm-up traffic (no faults) before the baseline, and the idle time before baseline and settled readings.
const WARMUP_MS = Number(argValue('--warmup') ?? 30) * 1000;
const SETTLE_MS = Number(argValue('--settle') ?? 60) * 1000;
// Data-plane workers: berth's default is `auto` (one per core); `--workers 1` keeps one process.
const rawWorkers = argValue('--workers') ?? process.env.CHAOS_WORKERS;
const WORKERS: number | 'auto' = rawWorkers === undefined || rawWorkers === 'auto' ? 'auto' : Number(rawWorkers);
// `--heap-dir DIR`: berth (and its workers) write a V8 heap snapshot there at the baseline and
// after the settle time, for comparing what the load left behind (a snapshot forces a full GC).
const HEAP_DIR = argValue('--heap-dir');
const HEAP_SIGNAL = 'SIGWINCH';
// `--gc-probe`: berth (and its workers) open the inspector on loopback so that, after the settle
// time, a full GC can be forced and PSS measured again: memory V8 merely has not given back yet
// drops, memory still referenced stays. `--mem-probe`: the inspector is only asked for
// process.memoryUsage() and the V8 space sizes at each reading (no GC forced).
const GC_PROBE = process.argv.includes('--gc-probe');
const MEM_PROBE = GC_PROBE || process.argv.includes('--mem-probe');
// `--berth-env KEY=VALUE` (repeatable): extra environment for berth and its workers, e.g.
// NODE_OPTIONS=--max-semi-space-size=8 or MALLOC_ARENA_MAX=2 to test where memory goes.
const BERTH_ENV: Record<string, string> = Object.fromEntries(
  process.argv.flatMap((a, i) => {
    const v = a === '--berth-env' ? process.argv[i + 1] : undefined;
    const eq = v?.indexOf('=') ?? -1;
    return v !== undefined && eq > 0 ? [[v.slice(0, eq), v.slice(eq + 1)]] : [];
  }),
);

type Kind = 'http' | 'https' | 'ws' | 'tcp' | 'udp' | 'docker';
const KINDS: readonly Kind[] = ['http', 'https', 'ws', 'tcp', 'udp', 'docker'];
/** Bounded per-phase bookkeeping: counts, failure causes, latency histograms. */
interface PhaseStats {
  readonly attempts: Record<Kind, number>;
  readonly failures: BoundedCounter;
  readonly explained: BoundedCounter;
  readonly latency: Record<Kind, Histogram>;
}
const phaseStats = (): PhaseStats => ({
  attempts: { http: 0, https: 0, ws: 0, tcp: 0, udp: 0, docker: 0 },
  failures: new BoundedCounter(),
  explained: new BoundedCounter(),
  latency: Object.fromEntries(KINDS.map((k) => [k, new Histogram()])) as Record<Kind, Histogram>,
});
const warmupStats = phaseStats();
const loadStats = phaseStats();
let stats = warmupStats;
const faults: Record<string, number> = {};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- upstreams -------------------------------------------------------------------------------
function wsAccept(req: IncomingMessage, socket: Socket): void {
  const key = String(req.headers['sec-websocket-key'] ?? '');
  const accept = createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.on('data', (d: Buffer) => {
    if (d.length < 6) return;
    const len = d[1]! & 0x7f;
    const mask = d.subarray(2, 6);
    const payload = Buffer.from(d.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
    socket.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
  });
  socket.on('error', () => socket.destroy());
  // The HTTP server's sockets allow half-open connections: without this, every WebSocket berth
  // closes would keep its descriptor here forever (the driver ran out of descriptors at ~7 min).
  socket.on('end', () => socket.destroy());
}
const httpUp = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.end(`ok ${req.url}`));
});
httpUp.on('upgrade', (req, socket) => wsAccept(req, socket as Socket));
await new Promise<void>((r) => httpUp.listen(0, '127.0.0.1', r));
const httpUpPort = (httpUp.address() as AddressInfo).port;
const tcpUp = createNetServer((s) => {
  s.on('data', (d) => s.write(d));
  s.on('error', () => s.destroy());
});
await new Promise<void>((r) => tcpUp.listen(0, '127.0.0.1', r));
const udpUp = createSocket('udp4');
udpUp.on('message', (m, r) => udpUp.send(m, r.port, r.address));
await new Promise<void>((r) => udpUp.bind(0, '127.0.0.1', r));

// The HTTP provider's endpoint: good config or garbage, switched by the fault loop.
let providerGarbage = false;
const providerDoc = JSON.stringify({
  http: {
    routers: { fromhttp: { rule: 'Host(`httpprov.test`)', service: 'fromhttp' } },
    services: { fromhttp: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${httpUpPort}` }] } } },
  },
});
const providerSrv = createHttpServer((_req, res) => {
  if (providerGarbage) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"http": {"routers": [garbage');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(providerDoc);
});
await new Promise<void>((r) => providerSrv.listen(0, '127.0.0.1', r));

// ---- optional real peers -----------------------------------------------------------------------
const dockerOk =
  hasTool('dockerd') && hasTool('docker') && process.getuid?.() === 0 && process.env.CHAOS_NO_DOCKER !== '1';
let fleet: Awaited<ReturnType<typeof import('../test/helpers/dockerd.ts')['startDockerds']>> | undefined;
let dockerIp = '';
if (dockerOk) {
  const { startDockerds, randomLoopback } = await import('../test/helpers/dockerd.ts');
  fleet = await startDockerds(2);
  dockerIp = randomLoopback();
  const labels = {
    'traefik.enable': 'true',
    'traefik.http.routers.flap.rule': 'Host(`flap.test`)',
    'traefik.http.routers.flap.service': 'flap',
    'traefik.http.services.flap.loadbalancer.server.port': '8080',
    'rediacc.service_ip': dockerIp,
  };
  await fleet.daemons[0]!.runHttpd({ name: 'flap', ip: dockerIp, port: 8080, labels });
  const ip2 = randomLoopback();
  await fleet.daemons[1]!.runHttpd({
    name: 'steady',
    ip: ip2,
    port: 8080,
    labels: {
      'traefik.enable': 'true',
      'traefik.http.routers.steady.rule': 'Host(`steady.test`)',
      'traefik.http.routers.steady.service': 'steady',
      'traefik.http.services.steady.loadbalancer.server.port': '8080',
      'rediacc.service_ip': ip2,
    },
  });
}
let pebble: Awaited<ReturnType<typeof import('../test/helpers/pebble.ts')['startPebble']>> | undefined;
if (hasTool('pebble')) {
  try {
    pebble = await (await import('../test/helpers/pebble.ts')).startPebble();
  } catch (err) {
    console.error(`pebble not started: ${(err as Error).message}`);
  }
}

// ---- berth -------------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'berth-chaos-'));
const ca = buildCertificate({ commonName: 'chaos CA', isCA: true });
const leaf = buildCertificate({
  commonName: 'secure.test',
  dnsNames: ['secure.test'],
  issuer: { commonName: 'chaos CA', key: ca.key },
});
const dynPath = join(dir, 'dynamic.yaml');
const dynamic = {
  http: {
    routers: {
      plain: { rule: 'Host(`plain.test`)', service: 'up' },
      secure: { rule: 'Host(`secure.test`)', service: 'up', tls: {} },
    },
    services: { up: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${httpUpPort}` }] } } },
  },
  tcp: {
    routers: { t: { entryPoints: ['tcp'], rule: 'HostSNI(`*`)', service: 't' } },
    services: { t: { loadBalancer: { servers: [{ address: `127.0.0.1:${(tcpUp.address() as AddressInfo).port}` }] } } },
  },
  udp: {
    routers: { u: { entryPoints: ['udp'], service: 'u' } },
    services: { u: { loadBalancer: { servers: [{ address: `127.0.0.1:${(udpUp.address() as AddressInfo).port}` }] } } },
  },
  tls: { certificates: [{ certFile: leaf.cert, keyFile: leaf.key }] },
};
const writeDyn = (text: string): void => {
  writeFileSync(`${dynPath}.tmp`, text);
  renameSync(`${dynPath}.tmp`, dynPath);
};
writeDyn(stringify(dynamic));
const ports = { web: await freePort(), tcp: await freePort(), udp: await freePort() };
const staticCfg: Record<string, unknown> = {
  entryPoints: {
    web: { address: `127.0.0.1:${ports.web}` },
    tcp: { address: `127.0.0.1:${ports.tcp}` },
    udp: { address: `127.0.0.1:${ports.udp}/udp` },
  },
  providers: {
    file: { filename: dynPath, watch: true },
    http: { endpoint: `http://127.0.0.1:${(providerSrv.address() as AddressInfo).port}/`, pollInterval: '1s' },
    ...(fleet ? { docker: { endpoints: [fleet.glob], exposedByDefault: false } } : {}),
  },
  log: { level: 'warn' },
  workers: WORKERS,
  ...(pebble
    ? {
        certificatesResolvers: {
          le: {
            acme: {
              email: 'chaos@example.test',
              storage: join(dir, 'acme.json'),
              caServer: pebble.directoryUrl,
              httpChallenge: { entryPoint: 'web' },
            },
          },
        },
      }
    : {}),
};
const berthEnv: Record<string, string> = {
  ...(pebble ? { NODE_EXTRA_CA_CERTS: pebble.caCertPath } : {}),
  ...BERTH_ENV,
  ...(HEAP_DIR || MEM_PROBE
    ? {
        NODE_OPTIONS: [
          BERTH_ENV.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '',
          HEAP_DIR ? `--heapsnapshot-signal=${HEAP_SIGNAL} --diagnostic-dir=${HEAP_DIR}` : '',
          MEM_PROBE ? '--inspect=127.0.0.1:0' : '',
        ]
          .join(' ')
          .trim(),
      }
    : {}),
};
const berth = await startBerth({ dir, config: staticCfg, env: berthEnv });
// An interrupted run still stops berth, the Docker daemons (and their containers) and pebble.
let tornDown = false;
async function teardown(): Promise<void> {
  if (tornDown) return;
  tornDown = true;
  berth.kill();
  await fleet?.stop().catch(() => undefined);
  await pebble?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    running = false;
    void teardown().finally(() => process.exit(130));
  });
process.once('uncaughtException', (err) => {
  console.error(err);
  running = false;
  void teardown().finally(() => process.exit(1));
});
let crashes = 0;
let running = true;
void berth.exited.then((code) => {
  if (running) {
    crashes++;
    console.error(`berth exited with ${code}`);
  }
});
// Error-level lines about the injected provider garbage are expected; anything else is not.
const isUnhandled = (l: string): boolean =>
  /uncaught|unhandled|"level":60/i.test(l) || (/"level":50/.test(l) && !/keeping the last good configuration/.test(l));
const logWatch = new LogWatch(berth.logs as string[], isUnhandled);

/** Signals berth and its workers to write heap snapshots; resolves once the files are complete. */
async function heapSnapshots(label: string): Promise<void> {
  if (!HEAP_DIR) return;
  const before = new Set(readdirSync(HEAP_DIR));
  const pids = [berth.pid, ...childPids(berth.pid)];
  for (const p of pids) process.kill(p, HEAP_SIGNAL);
  // Written in place: complete once every file is there and their sizes stop changing.
  let last = '';
  await waitUntil(
    async () => {
      const files = readdirSync(HEAP_DIR).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
      const sizes = files.map((f) => statSync(join(HEAP_DIR, f)).size).join(',');
      const done = files.length >= pids.length && sizes === last;
      last = sizes;
      return done;
    },
    'heap snapshots',
    180_000,
    2000,
  );
  console.error(
    `heap snapshots (${label}): ${readdirSync(HEAP_DIR)
      .filter((f) => !before.has(f))
      .join(', ')}`,
  );
}

/** process.memoryUsage() and V8 space sizes of berth and every worker (`--mem-probe`), keyed by pid. */
async function memProbe(): Promise<Record<string, Record<string, number>> | undefined> {
  if (!MEM_PROBE) return undefined;
  logWatch.drain();
  const out: Record<string, Record<string, number>> = {};
  for (const url of logWatch.inspectorUrls) {
    const m = await inspectorMemory(url);
    if (m) out[m.pid === berth.pid ? 'primary' : `pid ${m.pid}`] = m;
  }
  return out;
}

/** Forces a full GC in berth and every worker through their inspectors (`--gc-probe`). */
async function forceGc(): Promise<number> {
  logWatch.drain();
  let done = 0;
  for (const url of logWatch.inspectorUrls)
    if ((await inspectorCall(url, 'HeapProfiler.collectGarbage')) !== undefined) done++;
  return done;
}

/** A reading summarised for the report: MB per process and total. */
const mb = (kb: number): number => Number((kb / 1024).toFixed(1));
function summary(r: TreeReading): Record<string, unknown> {
  return {
    totalPssMb: mb(r.pssKb),
    totalRssMb: mb(r.rssKb),
    totalFds: r.fds,
    perProcess: Object.fromEntries(
      Object.entries(r.procs).map(([k, p]) => [
        k,
        { pid: p.pid, pssMb: mb(p.pssKb), rssMb: mb(p.rssKb), anonMb: mb(p.anonKb), fileMb: mb(p.fileKb), fds: p.fds },
      ]),
    ),
  };
}

// ---- traffic -----------------------------------------------------------------------------------
function httpFetch(host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: ports.web, path, headers: { host }, agent: false, timeout: 10_000 },
      (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => {
          if (body.length < 256) body += d;
        });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        r.on('error', () => resolve({ status: -1, body: '' }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: -1, body: '' }));
    req.end();
  });
}
const httpGet = (host: string, path: string): Promise<number> => httpFetch(host, path).then((r) => r.status);
/**
 * A container's route: the busybox httpd in the container serves only `/` (its body is the
 * container name) and answers 404 for any other path, so probe `/` and check the body: a 404 from
 * the container would otherwise be indistinguishable from berth's own "404 page not found".
 */
async function dockerProbe(host: string, name: string): Promise<string> {
  const r = await httpFetch(host, '/');
  if (r.status === 200 && r.body.trim() === name) return 'ok';
  if (r.status === -1) return `${host} connection error`;
  const from = r.body.startsWith('404 page not found')
    ? 'berth'
    : r.status === 200
      ? 'wrong body'
      : 'upstream or berth';
  return `${host} status ${r.status} (${from})`;
}
function httpsGet(): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: ports.web, servername: 'secure.test', ca: ca.cert }, () =>
      s.write('GET /s HTTP/1.1\r\nHost: secure.test\r\nConnection: close\r\n\r\n'),
    );
    let out = '';
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
    s.on('data', (d) => {
      out += d.toString();
    });
    s.on('close', () => resolve(out.startsWith('HTTP/1.1 200') ? 'ok' : out ? out.split('\r\n')[0]! : 'closed'));
    s.on('error', (e) => resolve(e.message));
  });
}
function wsEcho(): Promise<string> {
  return new Promise((resolveOnce) => {
    let settled = false;
    const resolve = (r: string): void => {
      if (!settled) {
        settled = true;
        resolveOnce(r);
      }
    };
    const s = connect(ports.web, '127.0.0.1', () =>
      s.write(
        'GET /ws HTTP/1.1\r\nHost: plain.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    let buf = Buffer.alloc(0);
    let up = false;
    s.setTimeout(10_000, () => {
      s.destroy();
      resolve('timeout');
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!up) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) {
          s.destroy();
          resolve('status ' + buf.subarray(9, 12).toString());
          return;
        }
        up = true;
        buf = buf.subarray(end + 4);
        const payload = Buffer.from('chaos');
        const mask = Buffer.from([1, 2, 3, 4]);
        s.write(
          Buffer.concat([
            Buffer.from([0x81, 0x80 | payload.length]),
            mask,
            Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!)),
          ]),
        );
      }
      if (up && buf.length >= 7) {
        s.destroy();
        resolve(buf.subarray(2, 7).toString() === 'chaos' ? 'ok' : 'bad echo');
      }
    });
    s.on('error', (e) => resolve(e.message));
    s.on('close', () => resolve(up ? 'closed after upgrade' : 'closed before upgrade'));
  });
}
function tcpEcho(): Promise<string> {
  return new Promise((resolveOnce) => {
    let settled = false;
    const resolve = (r: string): void => {
      if (!settled) {
        settled = true;
        resolveOnce(r);
      }
    };
    const s = connect(ports.tcp, '127.0.0.1', () => s.write('ping-chaos'));
    s.setTimeout(10_000, () => {
      s.destroy();
      resolve('timeout');
    });
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString() === 'ping-chaos' ? 'ok' : 'bad echo');
    });
    s.on('error', (e) => resolve(e.message));
    s.on('close', () => resolve('closed without echo'));
  });
}
function udpEcho(): Promise<string> {
  return new Promise((resolve) => {
    const c = createSocket('udp4');
    const t = setTimeout(() => {
      c.close();
      resolve('no reply');
    }, 2000);
    c.on('error', (e) => {
      clearTimeout(t);
      try {
        c.close();
      } catch {
        /* never bound */
      }
      resolve(e.message);
    });
    c.on('message', (m) => {
      clearTimeout(t);
      c.close();
      resolve(m.toString() === 'chaos' ? 'ok' : 'bad echo');
    });
    c.send('chaos', ports.udp, '127.0.0.1');
  });
}

let trafficOn = false;
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));
/**
 * One client doing attempts back to back. Every attempt ends with a turn of the event loop: a
 * connect that fails synchronously (EMFILE, EADDRNOTAVAIL) reports its error on the next tick, and
 * without that turn the loop would spin on ticks and promises alone, never closing the failed
 * sockets nor running timers, until the driver's heap ran out. A failure also pauses the client
 * briefly, so a fault that fails fast is counted, not spun on.
 */
async function loop(kind: Kind, fn: () => Promise<string>, explain: () => boolean = () => false): Promise<void> {
  while (trafficOn && running) {
    const st = stats;
    st.attempts[kind]++;
    const t = performance.now();
    let r: string;
    try {
      r = await fn();
    } catch (err) {
      r = `threw ${(err as Error).message}`;
    }
    st.latency[kind].record(performance.now() - t);
    if (r !== 'ok') {
      (explain() ? st.explained : st.failures).add(`${kind}: ${r}`);
      await sleep(10);
    } else {
      await yieldToLoop();
    }
  }
}
const status = (p: Promise<number>): Promise<string> =>
  p.then((s) => (s === 200 ? 'ok' : s === -1 ? 'connection error' : `status ${s}`));

await waitUntil(
  async () => (await httpGet('plain.test', '/')) === 200 && (await httpGet('httpprov.test', '/')) === 200,
  'routes',
  30_000,
);
if (fleet)
  await waitUntil(
    async () =>
      (await dockerProbe('flap.test', 'flap')) === 'ok' && (await dockerProbe('steady.test', 'steady')) === 'ok',
    'docker routes',
    60_000,
  );
await waitUntil(async () => (await udpEcho()) === 'ok' && (await tcpEcho()) === 'ok', 'L4 routes', 30_000);
console.error(
  JSON.stringify({
    pid: berth.pid,
    workers: childPids(berth.pid),
    httpUp: httpUpPort,
    tcpUp: (tcpUp.address() as AddressInfo).port,
    provider: (providerSrv.address() as AddressInfo).port,
    ports,
  }),
);
let flapDown = false;
let flapSince = 0;

function startTraffic(): Promise<unknown> {
  trafficOn = true;
  return Promise.all([
    loop('http', () => status(httpGet('plain.test', '/x'))),
    loop('http', () => status(httpGet('plain.test', '/y'))),
    // The HTTP provider's route keeps working while it serves garbage (last good config kept).
    loop('http', () => status(httpGet('httpprov.test', '/p'))),
    loop('https', httpsGet),
    loop('ws', wsEcho),
    loop('tcp', tcpEcho),
    loop('udp', udpEcho),
    ...(fleet
      ? [
          // A stopped container's route answers 404/503 until it runs again: explained by the flap
          // (plus a short settling window after it comes back).
          loop(
            'docker',
            () => dockerProbe('flap.test', 'flap'),
            () => flapDown || Date.now() - flapSince < 5000,
          ),
          // The steady container keeps running through its daemon's restart (live-restore): never explained.
          loop('docker', () => dockerProbe('steady.test', 'steady')),
        ]
      : []),
  ]);
}
const progressLine = (label: string, t0: number, r: TreeReading): void => {
  const m = process.memoryUsage();
  const n = KINDS.reduce((a, k) => a + stats.attempts[k], 0);
  console.error(
    `[${label} ${Math.round((Date.now() - t0) / 1000)}s] attempts ${n}, unexplained ${stats.failures.total}, explained ${stats.explained.total}; berth PSS ${Object.entries(
      r.procs,
    )
      .map(([k, p]) => `${k} ${mb(p.pssKb)}`)
      .join(
        ' / ',
      )} = ${mb(r.pssKb)} MB, fds ${r.fds}; driver heap ${(m.heapUsed / 1048576).toFixed(0)} MB, fds ${readdirSync('/proc/self/fd').length}, log lines ${logWatch.lines}`,
  );
};
/** Idles for SETTLE_MS, reading berth every 10 s; returns the readings (the last one is the settled value). */
async function idle(label: string): Promise<TreeReading[]> {
  const t0 = Date.now();
  const curve: TreeReading[] = [];
  while (Date.now() - t0 < SETTLE_MS && crashes === 0) {
    await sleep(Math.min(10_000, SETTLE_MS - (Date.now() - t0)));
    const r = readTree(berth.pid);
    curve.push(r);
    progressLine(label, t0, r);
  }
  return curve;
}

// ---- warm-up and baseline --------------------------------------------------------------------
const warmT0 = Date.now();
const warmup = startTraffic();
while (Date.now() - warmT0 < WARMUP_MS && crashes === 0) await sleep(1000);
trafficOn = false;
await warmup;
progressLine('warm-up', warmT0, readTree(berth.pid));
await idle('idle before baseline');
const base = readTree(berth.pid);
const baseMem = await memProbe();
await heapSnapshots('baseline');
const baseFdKinds = fdKinds(berth.pid);

// ---- faults ------------------------------------------------------------------------------------
const faultList: { name: string; run: () => Promise<void> }[] = [
  {
    name: 'file-garbage',
    run: async () => {
      writeDyn('http: [ not : yaml');
      await sleep(3000);
      writeDyn(stringify(dynamic));
    },
  },
  {
    name: 'http-provider-garbage',
    run: async () => {
      providerGarbage = true;
      await sleep(4000);
      providerGarbage = false;
    },
  },
  {
    name: 'sighup',
    run: async () => {
      berth.child.kill('SIGHUP');
      await sleep(1000);
    },
  },
];
if (fleet) {
  const d0 = fleet.daemons[0]!;
  faultList.push({
    name: 'container-flap',
    run: async () => {
      flapDown = true;
      await d0.stopContainer('flap');
      await sleep(1500);
      await d0.startContainer('flap');
      flapSince = Date.now();
      flapDown = false;
      await sleep(1500);
    },
  });
  faultList.push({
    name: 'daemon-restart',
    run: async () => {
      await fleet!.daemons[1]!.kill();
      await sleep(2000);
      await fleet!.daemons[1]!.restart();
      await sleep(2000);
    },
  });
}
let pebbleGone = false;
if (pebble)
  faultList.push({
    name: 'pebble-away',
    run: async () => {
      if (!pebbleGone) {
        pebbleGone = true;
        await pebble!.stop();
      }
      await sleep(3000);
    },
  });

// ---- load with faults --------------------------------------------------------------------------
stats = loadStats;
const t0 = Date.now();
let peak = base;
const peakPerProc: Record<string, number> = {};
const sampleLoad = (): TreeReading => {
  const r = readTree(berth.pid);
  if (r.pssKb > peak.pssKb) peak = r;
  for (const [k, p] of Object.entries(r.procs)) peakPerProc[k] = Math.max(peakPerProc[k] ?? 0, p.pssKb);
  return r;
};
let samples = 0;
const sampler = setInterval(() => {
  const r = sampleLoad();
  if (++samples % 6 === 0) progressLine('load', t0, r);
}, 5000);
const traffic = startTraffic();
let fi = 0;
while (Date.now() - t0 < DURATION_MS && crashes === 0) {
  const f = faultList[fi++ % faultList.length]!;
  faults[f.name] = (faults[f.name] ?? 0) + 1;
  try {
    await f.run();
  } catch (err) {
    console.error(`fault ${f.name}: ${(err as Error).message}`);
  }
  await sleep(1000);
}
const loadMem = await memProbe();
const loaded = sampleLoad();
clearInterval(sampler);
trafficOn = false;
await traffic;
const loadSeconds = (Date.now() - t0) / 1000;

// ---- settle ------------------------------------------------------------------------------------
const curve = crashes === 0 ? await idle('idle after load') : [];
const settled = curve.at(-1) ?? loaded;
const settledMem = crashes === 0 ? await memProbe() : undefined;
let afterGc: { processes: number; reading: TreeReading } | undefined;
if (crashes === 0 && GC_PROBE) {
  const processes = await forceGc();
  await sleep(2000);
  afterGc = { processes, reading: readTree(berth.pid) };
}
if (crashes === 0) await heapSnapshots('settled');
const settledFdKinds = crashes === 0 ? fdKinds(berth.pid) : {};
running = false;
const code = crashes === 0 ? await berth.stop() : null;
logWatch.stop();

tornDown = true;
await fleet?.stop();
if (!pebbleGone) await pebble?.stop();
httpUp.close();
tcpUp.close();
udpUp.close();
providerSrv.close();
rmSync(dir, { recursive: true, force: true });

const drift = (a: number, b: number): number => Number((((b - a) / a) * 100).toFixed(1));
const perProcessPss: Record<string, unknown> = {};
for (const k of Object.keys(base.procs)) {
  const b = base.procs[k]!;
  const s = settled.procs[k];
  perProcessPss[k] = {
    baselineMb: mb(b.pssKb),
    peakMb: mb(peakPerProc[k] ?? 0),
    settledMb: s ? mb(s.pssKb) : null,
    driftPct: s ? drift(b.pssKb, s.pssKb) : null,
    ...(s && s.pid !== b.pid ? { note: `pid changed ${b.pid} → ${s.pid}` } : {}),
  };
}
const phaseReport = (st: PhaseStats): Record<string, unknown> => ({
  attempts: st.attempts,
  totalAttempts: KINDS.reduce((a, k) => a + st.attempts[k], 0),
  unexplainedFailures: st.failures.toJSON(),
  totalUnexplained: st.failures.total,
  explainedFailures: st.explained.toJSON(),
  totalExplained: st.explained.total,
  latency: Object.fromEntries(KINDS.filter((k) => st.latency[k].count > 0).map((k) => [k, st.latency[k].toJSON()])),
});
const unexplained = warmupStats.failures.total + loadStats.failures.total;
const report = {
  minutes: MINUTES,
  loadSeconds: Math.round(loadSeconds),
  warmupSeconds: WARMUP_MS / 1000,
  settleSeconds: SETTLE_MS / 1000,
  workers: WORKERS,
  ...(Object.keys(BERTH_ENV).length ? { berthEnv: BERTH_ENV } : {}),
  peers: {
    docker: fleet ? 'real dockerd ×2' : 'unavailable (skipped)',
    pebble: pebble ? 'pebble' : 'unavailable (skipped)',
  },
  load: {
    ...phaseReport(loadStats),
    requestsPerSecond: Math.round(KINDS.reduce((a, k) => a + loadStats.attempts[k], 0) / loadSeconds),
  },
  warmup: phaseReport(warmupStats),
  faultsInjected: faults,
  crashes,
  exitCode: code,
  log: {
    lines: logWatch.lines,
    byLevel: logWatch.levels.toJSON(),
    unhandled: logWatch.unhandled,
    byMessage: logWatch.messages.toJSON(),
  },
  // PSS summed over the primary and its workers: pages they share are counted once.
  pss: {
    baselineMb: mb(base.pssKb),
    peakMb: mb(peak.pssKb),
    settledMb: mb(settled.pssKb),
    driftPct: drift(base.pssKb, settled.pssKb),
    perProcess: perProcessPss,
    settleCurveMb: curve.map((r) => mb(r.pssKb)),
    ...(afterGc ? { afterForcedGcMb: mb(afterGc.reading.pssKb), gcProcesses: afterGc.processes } : {}),
  },
  fds: {
    baseline: base.fds,
    peak: peak.fds,
    underLoadAtEnd: loaded.fds,
    settled: settled.fds,
    baselineByKind: baseFdKinds,
    settledByKind: settledFdKinds,
  },
  readings: { baseline: summary(base), peak: summary(peak), settled: summary(settled) },
  ...(MEM_PROBE ? { memoryUsageMb: { baseline: baseMem, endOfLoad: loadMem, settled: settledMem } } : {}),
};
console.log(JSON.stringify(report, null, 2));
for (const l of logWatch.unhandledSamples) console.error(l);
process.exitCode = crashes === 0 && unexplained === 0 && logWatch.unhandled === 0 && code === 0 ? 0 : 1;
