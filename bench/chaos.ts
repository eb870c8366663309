/**
 * Chaos soak: mixed traffic (HTTP, HTTPS, WebSocket, TCP, UDP) through one berth (its primary
 * process and data-plane workers) while faults are injected, then a report of attempts and failures
 * by cause, crashes, unhandled errors in berth's log, and RSS / file-descriptor drift (summed over
 * the primary and its workers) after the load stops.
 *
 * RSS right after the load is mostly garbage V8 has not collected and returned yet; `--gc-probe`
 * shows what remains after a full GC. Descriptors under load include UDP sessions, which close
 * after their idle timeout.
 *
 *   node bench/chaos.ts               # 10 minutes
 *   node bench/chaos.ts --minutes 2
 *   node bench/chaos.ts --minutes 2 --workers 1   # default: auto, berth's default (one per core)
 *   node bench/chaos.ts --minutes 1 --heap-dir /tmp/heap   # heap snapshots at baseline and settled
 *   node bench/chaos.ts --minutes 1 --gc-probe   # also RSS after a forced full GC (inspector on loopback)
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
import { mkdtempSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
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

const argMinutes = process.argv.indexOf('--minutes');
const MINUTES = argMinutes >= 0 ? Number(process.argv[argMinutes + 1]) : Number(process.env.CHAOS_MINUTES ?? 10);
const DURATION_MS = Math.max(0.2, MINUTES) * 60_000;
// Data-plane workers: berth's default is `auto` (one per core); `--workers 1` keeps one process.
const argWorkers = process.argv.indexOf('--workers');
const rawWorkers = argWorkers >= 0 ? process.argv[argWorkers + 1] : process.env.CHAOS_WORKERS;
const WORKERS: number | 'auto' = rawWorkers === undefined || rawWorkers === 'auto' ? 'auto' : Number(rawWorkers);
// `--heap-dir DIR`: berth (and its workers) write a V8 heap snapshot there at the baseline and
// after the settle time, for comparing what the load left behind (a snapshot forces a full GC).
const argHeap = process.argv.indexOf('--heap-dir');
const HEAP_DIR = argHeap >= 0 ? process.argv[argHeap + 1] : undefined;
const HEAP_SIGNAL = 'SIGWINCH';
// `--gc-probe`: berth (and its workers) open the inspector on loopback so that, after the settle
// time, a full GC can be forced and RSS measured again: memory V8 merely has not given back yet
// drops, memory still referenced stays.
const GC_PROBE = process.argv.includes('--gc-probe');

type Kind = 'http' | 'https' | 'ws' | 'tcp' | 'udp' | 'docker';
const attempts: Record<Kind, number> = { http: 0, https: 0, ws: 0, tcp: 0, udp: 0, docker: 0 };
const failures: Record<string, number> = {};
const explained: Record<string, number> = {};
const faults: Record<string, number> = {};
let currentFault = 'none';
const fail = (kind: Kind, cause: string, isExplained = false): void => {
  const key = `${kind}: ${cause}`;
  if (isExplained) explained[key] = (explained[key] ?? 0) + 1;
  else failures[key] = (failures[key] ?? 0) + 1;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- upstreams -------------------------------------------------------------------------------
function wsAccept(req: IncomingMessage, socket: Socket): void {
  const key = String(req.headers['sec-websocket-key'] ?? '');
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.on('data', (d: Buffer) => {
    if (d.length < 6) return;
    const len = d[1]! & 0x7f;
    const mask = d.subarray(2, 6);
    const payload = Buffer.from(d.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
    socket.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
  });
  socket.on('error', () => socket.destroy());
}
const httpUp = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.end(`ok ${req.url}`));
});
httpUp.on('upgrade', (req, socket) => wsAccept(req, socket as Socket));
await new Promise<void>((r) => httpUp.listen(0, '127.0.0.1', r));
const httpUpPort = (httpUp.address() as AddressInfo).port;
const tcpUp = createNetServer((s) => { s.on('data', (d) => s.write(d)); s.on('error', () => s.destroy()); });
await new Promise<void>((r) => tcpUp.listen(0, '127.0.0.1', r));
const udpUp = createSocket('udp4');
udpUp.on('message', (m, r) => udpUp.send(m, r.port, r.address));
await new Promise<void>((r) => udpUp.bind(0, '127.0.0.1', r));

// The HTTP provider's endpoint: good config or garbage, switched by the fault loop.
let providerGarbage = false;
const providerDoc = JSON.stringify({ http: { routers: { fromhttp: { rule: 'Host(`httpprov.test`)', service: 'fromhttp' } }, services: { fromhttp: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${httpUpPort}` }] } } } } });
const providerSrv = createHttpServer((_req, res) => {
  if (providerGarbage) { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"http": {"routers": [garbage'); return; }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(providerDoc);
});
await new Promise<void>((r) => providerSrv.listen(0, '127.0.0.1', r));

// ---- optional real peers -----------------------------------------------------------------------
const dockerOk = hasTool('dockerd') && hasTool('docker') && process.getuid?.() === 0 && process.env.CHAOS_NO_DOCKER !== '1';
let fleet: Awaited<ReturnType<typeof import('../test/helpers/dockerd.ts')['startDockerds']>> | undefined;
let dockerIp = '';
if (dockerOk) {
  const { startDockerds, randomLoopback } = await import('../test/helpers/dockerd.ts');
  fleet = await startDockerds(2);
  dockerIp = randomLoopback();
  const labels = { 'traefik.enable': 'true', 'traefik.http.routers.flap.rule': 'Host(`flap.test`)', 'traefik.http.routers.flap.service': 'flap', 'traefik.http.services.flap.loadbalancer.server.port': '8080', 'rediacc.service_ip': dockerIp };
  await fleet.daemons[0]!.runHttpd({ name: 'flap', ip: dockerIp, port: 8080, labels });
  const ip2 = randomLoopback();
  await fleet.daemons[1]!.runHttpd({ name: 'steady', ip: ip2, port: 8080, labels: { 'traefik.enable': 'true', 'traefik.http.routers.steady.rule': 'Host(`steady.test`)', 'traefik.http.routers.steady.service': 'steady', 'traefik.http.services.steady.loadbalancer.server.port': '8080', 'rediacc.service_ip': ip2 } });
}
let pebble: Awaited<ReturnType<typeof import('../test/helpers/pebble.ts')['startPebble']>> | undefined;
if (hasTool('pebble')) {
  try { pebble = await (await import('../test/helpers/pebble.ts')).startPebble(); } catch (err) { console.error(`pebble not started: ${(err as Error).message}`); }
}

// ---- berth -------------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'berth-chaos-'));
const ca = buildCertificate({ commonName: 'chaos CA', isCA: true });
const leaf = buildCertificate({ commonName: 'secure.test', dnsNames: ['secure.test'], issuer: { commonName: 'chaos CA', key: ca.key } });
const dynPath = join(dir, 'dynamic.yaml');
const dynamic = {
  http: {
    routers: {
      plain: { rule: 'Host(`plain.test`)', service: 'up' },
      secure: { rule: 'Host(`secure.test`)', service: 'up', tls: {} },
    },
    services: { up: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${httpUpPort}` }] } } },
  },
  tcp: { routers: { t: { entryPoints: ['tcp'], rule: 'HostSNI(`*`)', service: 't' } }, services: { t: { loadBalancer: { servers: [{ address: `127.0.0.1:${(tcpUp.address() as AddressInfo).port}` }] } } } },
  udp: { routers: { u: { entryPoints: ['udp'], service: 'u' } }, services: { u: { loadBalancer: { servers: [{ address: `127.0.0.1:${(udpUp.address() as AddressInfo).port}` }] } } } },
  tls: { certificates: [{ certFile: leaf.cert, keyFile: leaf.key }] },
};
const writeDyn = (text: string): void => { writeFileSync(`${dynPath}.tmp`, text); renameSync(`${dynPath}.tmp`, dynPath); };
writeDyn(stringify(dynamic));
const ports = { web: await freePort(), tcp: await freePort(), udp: await freePort() };
const staticCfg: Record<string, unknown> = {
  entryPoints: { web: { address: `127.0.0.1:${ports.web}` }, tcp: { address: `127.0.0.1:${ports.tcp}` }, udp: { address: `127.0.0.1:${ports.udp}/udp` } },
  providers: {
    file: { filename: dynPath, watch: true },
    http: { endpoint: `http://127.0.0.1:${(providerSrv.address() as AddressInfo).port}/`, pollInterval: '1s' },
    ...(fleet ? { docker: { endpoints: [fleet.glob], exposedByDefault: false } } : {}),
  },
  log: { level: 'warn' },
  workers: WORKERS,
  ...(pebble ? { certificatesResolvers: { le: { acme: { email: 'chaos@example.test', storage: join(dir, 'acme.json'), caServer: pebble.directoryUrl, httpChallenge: { entryPoint: 'web' } } } } } : {}),
};
const berthEnv: Record<string, string> = {
  ...(pebble ? { NODE_EXTRA_CA_CERTS: pebble.caCertPath } : {}),
  ...(HEAP_DIR || GC_PROBE ? { NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', HEAP_DIR ? `--heapsnapshot-signal=${HEAP_SIGNAL} --diagnostic-dir=${HEAP_DIR}` : '', GC_PROBE ? '--inspect=127.0.0.1:0' : ''].join(' ').trim() } : {}),
};
const berth = await startBerth({ dir, config: staticCfg, env: berthEnv });
let crashes = 0;
void berth.exited.then((code) => { if (running) { crashes++; console.error(`berth exited with ${code}`); } });

/** Descriptors and RSS of berth and its data-plane workers, summed. */
function res(pid: number): { fds: number; rssKb: number } {
  let children: number[] = [];
  try { children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { /* none */ }
  let fds = 0;
  let rssKb = 0;
  for (const p of [pid, ...children]) {
    try {
      fds += readdirSync(`/proc/${p}/fd`).length;
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch { /* exited */ }
  }
  return { fds, rssKb };
}

/** Signals berth and its workers to write heap snapshots; resolves once the files are complete. */
async function heapSnapshots(label: string): Promise<void> {
  if (!HEAP_DIR) return;
  const before = new Set(readdirSync(HEAP_DIR));
  let children: number[] = [];
  try { children = readFileSync(`/proc/${berth.pid}/task/${berth.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { /* none */ }
  const pids = [berth.pid, ...children];
  for (const p of pids) process.kill(p, HEAP_SIGNAL);
  // Written in place: complete once every file is there and their sizes stop changing.
  let last = '';
  await waitUntil(async () => {
    const files = readdirSync(HEAP_DIR).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    const sizes = files.map((f) => statSync(join(HEAP_DIR, f)).size).join(',');
    const done = files.length >= pids.length && sizes === last;
    last = sizes;
    return done;
  }, 'heap snapshots', 180_000, 2000);
  console.error(`heap snapshots (${label}): ${readdirSync(HEAP_DIR).filter((f) => !before.has(f)).join(', ')}`);
}

/** Forces a full GC in berth and every worker through their inspectors (`--gc-probe`). */
async function forceGc(): Promise<number> {
  const urls = [...new Set(berth.logs.flatMap((l) => /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(l)?.[1] ?? []))];
  let done = 0;
  for (const url of urls) {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => { ws.close(); resolve(); }, 30_000);
      ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
      ws.onmessage = (m) => { if (String(m.data).includes('"id":1')) { done++; clearTimeout(timer); ws.close(); resolve(); } };
      ws.onerror = () => { clearTimeout(timer); resolve(); };
    });
  }
  return done;
}

// ---- traffic -----------------------------------------------------------------------------------
function httpFetch(host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: ports.web, path, headers: { host }, agent: false, timeout: 10_000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => { if (body.length < 256) body += d; });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      r.on('error', () => resolve({ status: -1, body: '' }));
    });
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
  const from = r.body.startsWith('404 page not found') ? 'berth' : r.status === 200 ? 'wrong body' : 'upstream or berth';
  return `${host} status ${r.status} (${from})`;
}
function httpsGet(): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: ports.web, servername: 'secure.test', ca: ca.cert }, () => s.write('GET /s HTTP/1.1\r\nHost: secure.test\r\nConnection: close\r\n\r\n'));
    let out = '';
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
    s.on('data', (d) => { out += d.toString(); });
    s.on('close', () => resolve(out.startsWith('HTTP/1.1 200') ? 'ok' : out ? out.split('\r\n')[0]! : 'closed'));
    s.on('error', (e) => resolve(e.message));
  });
}
function wsEcho(): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(ports.web, '127.0.0.1', () => s.write('GET /ws HTTP/1.1\r\nHost: plain.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    let buf = Buffer.alloc(0);
    let up = false;
    s.setTimeout(10_000, () => { s.destroy(); resolve('timeout'); });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!up) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) { s.destroy(); resolve('status ' + buf.subarray(9, 12).toString()); return; }
        up = true;
        buf = buf.subarray(end + 4);
        const payload = Buffer.from('chaos');
        const mask = Buffer.from([1, 2, 3, 4]);
        s.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]));
      }
      if (up && buf.length >= 7) { s.destroy(); resolve(buf.subarray(2, 7).toString() === 'chaos' ? 'ok' : 'bad echo'); }
    });
    s.on('error', (e) => resolve(e.message));
  });
}
function tcpEcho(): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(ports.tcp, '127.0.0.1', () => s.write('ping-chaos'));
    s.setTimeout(10_000, () => { s.destroy(); resolve('timeout'); });
    s.on('data', (d) => { s.destroy(); resolve(d.toString() === 'ping-chaos' ? 'ok' : 'bad echo'); });
    s.on('error', (e) => resolve(e.message));
  });
}
function udpEcho(): Promise<string> {
  return new Promise((resolve) => {
    const c = createSocket('udp4');
    const t = setTimeout(() => { c.close(); resolve('no reply'); }, 2000);
    c.on('message', (m) => { clearTimeout(t); c.close(); resolve(m.toString() === 'chaos' ? 'ok' : 'bad echo'); });
    c.send('chaos', ports.udp, '127.0.0.1');
  });
}

let running = true;
async function loop(kind: Kind, fn: () => Promise<string>, explain: () => boolean = () => false): Promise<void> {
  while (running) {
    attempts[kind]++;
    const r = await fn();
    if (r !== 'ok') fail(kind, r, explain());
  }
}
const status = (p: Promise<number>): Promise<string> => p.then((s) => (s === 200 ? 'ok' : s === -1 ? 'connection error' : `status ${s}`));

await waitUntil(async () => (await httpGet('plain.test', '/')) === 200 && (await httpGet('httpprov.test', '/')) === 200, 'routes', 30_000);
if (fleet) await waitUntil(async () => (await dockerProbe('flap.test', 'flap')) === 'ok' && (await dockerProbe('steady.test', 'steady')) === 'ok', 'docker routes', 60_000);
await waitUntil(async () => (await udpEcho()) === 'ok' && (await tcpEcho()) === 'ok', 'L4 routes', 30_000);
await heapSnapshots('baseline');
const base = res(berth.pid);
console.error(JSON.stringify({ pid: berth.pid, httpUp: httpUpPort, tcpUp: (tcpUp.address() as AddressInfo).port, provider: (providerSrv.address() as AddressInfo).port, ports }));
let flapDown = false;
let flapSince = 0;
const t0 = Date.now();

const traffic = [
  loop('http', () => status(httpGet('plain.test', '/x'))),
  loop('http', () => status(httpGet('plain.test', '/y'))),
  // The HTTP provider's route keeps working while it serves garbage (last good config kept).
  loop('http', () => status(httpGet('httpprov.test', '/p'))),
  loop('https', httpsGet),
  loop('ws', wsEcho),
  loop('tcp', tcpEcho),
  loop('udp', udpEcho),
  ...(fleet ? [
    // A stopped container's route answers 404/503 until it runs again: explained by the flap
    // (plus a short settling window after it comes back).
    loop('docker', () => dockerProbe('flap.test', 'flap'), () => flapDown || Date.now() - flapSince < 5000),
    // The steady container keeps running through its daemon's restart (live-restore): never explained.
    loop('docker', () => dockerProbe('steady.test', 'steady')),
  ] : []),
];

// ---- faults ------------------------------------------------------------------------------------
const faultList: { name: string; run: () => Promise<void> }[] = [
  { name: 'file-garbage', run: async () => { writeDyn('http: [ not : yaml'); await sleep(3000); writeDyn(stringify(dynamic)); } },
  { name: 'http-provider-garbage', run: async () => { providerGarbage = true; await sleep(4000); providerGarbage = false; } },
  { name: 'sighup', run: async () => { berth.child.kill('SIGHUP'); await sleep(1000); } },
];
if (fleet) {
  const d0 = fleet.daemons[0]!;
  faultList.push({ name: 'container-flap', run: async () => {
    flapDown = true;
    await d0.stopContainer('flap');
    await sleep(1500);
    await d0.startContainer('flap');
    flapSince = Date.now();
    flapDown = false;
    await sleep(1500);
  } });
  faultList.push({ name: 'daemon-restart', run: async () => {
    await fleet!.daemons[1]!.kill();
    await sleep(2000);
    await fleet!.daemons[1]!.restart();
    await sleep(2000);
  } });
}
let pebbleGone = false;
if (pebble) faultList.push({ name: 'pebble-away', run: async () => { if (!pebbleGone) { pebbleGone = true; await pebble!.stop(); } await sleep(3000); } });

let fi = 0;
while (Date.now() - t0 < DURATION_MS && crashes === 0) {
  const f = faultList[fi++ % faultList.length]!;
  currentFault = f.name;
  faults[f.name] = (faults[f.name] ?? 0) + 1;
  try { await f.run(); } catch (err) { console.error(`fault ${f.name}: ${(err as Error).message}`); }
  currentFault = 'none';
  await sleep(1000);
}
running = false;
await Promise.all(traffic);
const loaded = res(berth.pid);
// Let pools and timers settle, then measure drift.
await sleep(15_000);
const settled = crashes === 0 ? res(berth.pid) : loaded;
let afterGc: { processes: number; rssKb: number } | undefined;
if (crashes === 0 && GC_PROBE) {
  const processes = await forceGc();
  await sleep(2000);
  afterGc = { processes, rssKb: res(berth.pid).rssKb };
}
if (crashes === 0) await heapSnapshots('settled');
// Error-level lines about the injected provider garbage are expected; anything else is not.
const unhandled = berth.logs.filter((l) => /uncaught|unhandled|"level":60/i.test(l) || (/"level":50/.test(l) && !/keeping the last good configuration/.test(l)));
const fdKinds: Record<string, number> = {};
if (crashes === 0) {
  for (const fd of readdirSync(`/proc/${berth.pid}/fd`)) {
    let target = '?';
    try { target = (await import('node:fs')).readlinkSync(`/proc/${berth.pid}/fd/${fd}`).replace(/\[\d+\]|\d+$/g, '').replace(/^\/tmp\/.*/, '/tmp/…'); } catch { /* gone */ }
    fdKinds[target] = (fdKinds[target] ?? 0) + 1;
  }
}
const code = crashes === 0 ? await berth.stop() : null;

await fleet?.stop();
if (!pebbleGone) await pebble?.stop();
httpUp.close(); tcpUp.close(); udpUp.close(); providerSrv.close();

const totalAttempts = Object.values(attempts).reduce((a, b) => a + b, 0);
const totalUnexplained = Object.values(failures).reduce((a, b) => a + b, 0);
const report = {
  minutes: MINUTES,
  workers: WORKERS,
  peers: { docker: fleet ? 'real dockerd ×2' : 'unavailable (skipped)', pebble: pebble ? 'pebble' : 'unavailable (skipped)' },
  attempts, totalAttempts,
  unexplainedFailures: failures, explainedFailures: explained,
  faultsInjected: faults,
  crashes, exitCode: code,
  unhandledLogLines: unhandled.length,
  rss: { baselineKb: base.rssKb, underLoadKb: loaded.rssKb, settledKb: settled.rssKb, driftPct: Number((((settled.rssKb - base.rssKb) / base.rssKb) * 100).toFixed(1)), ...(afterGc ? { afterForcedGcKb: afterGc.rssKb, gcProcesses: afterGc.processes } : {}) },
  fds: { baseline: base.fds, underLoad: loaded.fds, settled: settled.fds, settledByKind: fdKinds },
};
console.log(JSON.stringify(report, null, 2));
for (const l of unhandled.slice(0, 10)) console.error(l);
process.exitCode = crashes === 0 && totalUnexplained === 0 && unhandled.length === 0 && code === 0 ? 0 : 1;
