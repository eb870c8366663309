/**
 * The L4 path end to end through a berth process: the entrypoints generated from
 * `edge.publicIPv4`, real protocol peers (redis-server, PostgreSQL, pebble-challtestsrv's DNS) through
 * them, TLS passthrough and HTTP sharing the HTTPS port, TLS termination by a TCP router, and dynamic
 * ports that survive a restart. berth listens on a random 127.x.y.z so the fixed ports (53, 5432,
 * 6379, …) never collide with other tests or services on 127.0.0.1.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  connect as netConnect,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type PeerCertificate, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freeDualPort, freePort, waitUntil } from '../helpers/net.ts';
import { challtestsrvDnsArgs } from '../helpers/pebble.ts';
import { hasTool, requireIntegration } from '../helpers/tools.ts';
import { echoHandler, startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { canRunPostgres, startPostgres, startRedis } from './l4-peers.ts';
import { idleTimeout, rejectIfCut, withTimeout } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

const execFileP = promisify(execFile);

const TOOLS = ['redis-server', 'redis-cli', 'psql', 'dig', 'pebble-challtestsrv', 'openssl'];

/** A random 127.x.y.z (never 127.0.0.0/16, where 127.0.0.1 and resolvers' 127.0.0.53 live). */
function randomLoopback(): string {
  const r = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));
  return `127.${r(1, 254)}.${r(0, 255)}.${r(1, 254)}`;
}

/** A self-signed certificate for `name`, made by openssl. */
function selfSigned(dir: string, name: string): { cert: string; key: string; certPath: string; keyPath: string } {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=DNS:${name}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

/** A TCP (or TLS) server that answers every chunk with `prefix` + the chunk. */
async function startEchoServer(
  prefix: string,
  tls?: { cert: string; key: string },
): Promise<{ port: number; server: NetServer; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const onConn = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => s.write(`${prefix}${d.toString()}`));
    s.on('end', () => s.end());
  };
  const server = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, onConn) : createNetServer(onConn);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Sends `line` over a fresh connection and resolves with the first answer. */
function exchange(socket: Socket | TLSSocket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d: Buffer) => resolve(d.toString()));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`connection closed before answering ${JSON.stringify(line)}`)));
    socket.write(line);
  });
}

/** Opens a TLS connection to berth with the given SNI; resolves with the socket and the peer certificate. */
function tlsTo(
  host: string,
  port: number,
  servername: string,
  alpn?: string[],
): Promise<{ socket: TLSSocket; cert: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host, port, servername, rejectUnauthorized: false, ...(alpn ? { ALPNProtocols: alpn } : {}) },
      () => {
        socket.setTimeout(0);
        resolve({ socket, cert: socket.getPeerCertificate() });
      },
    );
    idleTimeout(socket, 30_000, `TLS handshake for ${servername} on ${host}:${port}`);
    socket.once('error', reject);
  });
}

/** A plain TCP round trip: connect, send, first answer, close. */
async function tcpRoundTrip(host: string, port: number, line: string): Promise<string> {
  const socket = netConnect(port, host);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    30_000,
    `a TCP connection to ${host}:${port}`,
  ).catch((err) => {
    socket.destroy();
    throw err;
  });
  try {
    return await exchange(socket, line);
  } finally {
    socket.destroy();
  }
}

/** Sockets on `ip:port` (the local side) in CLOSE-WAIT: the peer is gone and berth never closed its end. */
function closeWaitOn(ip: string, port: number): number {
  const hexIp = ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  const local = `${hexIp}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === local && f[3] === '08').length;
}

/** pebble-challtestsrv as a DNS server only (it answers every A query with 127.0.0.1). */
async function startChalltestsrvDns(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freeDualPort();
  const mgmt = await freePort();
  const proc: ChildProcess = trackChild(
    spawn('pebble-challtestsrv', challtestsrvDnsArgs(port, mgmt), { stdio: 'ignore' }),
  );
  await waitUntil(
    async () =>
      (
        await execFileP('dig', [
          '+short',
          '+time=1',
          '+tries=1',
          '@127.0.0.1',
          '-p',
          String(port),
          'probe.example.com',
          'A',
        ])
      ).stdout.trim() === '127.0.0.1',
    'challtestsrv DNS',
    10_000,
    100,
  );
  return {
    port,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await withTimeout(exited, 15_000, `challtestsrv (pid ${proc.pid}) to exit`).finally(() => clearTimeout(timer));
    },
  };
}

describe('L4 end to end through a berth process on generated entrypoints', { timeout: 180_000 }, () => {
  const ip = randomLoopback();
  let missing: string | undefined;
  let berth: BerthProcess | undefined;
  let dir: string;
  let dynPath: string;
  let stateDir: string;
  let webPort: number;
  let websecurePort: number;
  const stops: (() => Promise<void>)[] = [];
  let dbCert: ReturnType<typeof selfSigned>;
  let termCert: ReturnType<typeof selfSigned>;
  let dbBackend: Awaited<ReturnType<typeof startEchoServer>>;
  let plainBackend: Awaited<ReturnType<typeof startEchoServer>>;
  let app: Upstream;
  let dyn: Record<string, any>;

  const writeDyn = (): void => {
    writeFileSync(`${dynPath}.tmp`, stringify(dyn));
    renameSync(`${dynPath}.tmp`, dynPath);
  };

  const berthConfig = (): Record<string, unknown> => ({
    edge: { publicIPv4: ip, webPort, websecurePort, dynamicPorts: '10000-10003', stateDir },
    providers: { file: { filename: dynPath, watch: true } },
  });

  /** Skips (developer machine) or fails (CI) when a peer cannot run here. */
  const ready = (t: TestContext): boolean => {
    if (!missing) return true;
    if (requireIntegration) throw new Error(missing);
    t.skip(missing);
    return false;
  };

  before(async () => {
    const absent = TOOLS.filter((n) => !hasTool(n));
    if (absent.length > 0 || !canRunPostgres()) {
      missing = `missing tools: ${[...absent, ...(canRunPostgres() ? [] : ['postgresql (initdb, user postgres)'])].join(', ')}`;
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'berth-l4e2e-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    dynPath = join(dir, 'dynamic.yaml');
    stateDir = join(dir, 'state');
    webPort = await freePort(ip);
    websecurePort = await freePort(ip);
    dbCert = selfSigned(dir, 'db.example.com');
    termCert = selfSigned(dir, 'term.example.com');
    const [redis, pg, dns] = await Promise.all([startRedis(), startPostgres(), startChalltestsrvDns()]);
    stops.push(
      () => redis.stop(),
      () => pg.stop(),
      () => dns.stop(),
    );
    dbBackend = await startEchoServer('db:', dbCert);
    plainBackend = await startEchoServer('plain:');
    app = await startUpstream(echoHandler('app'));
    stops.push(
      () => dbBackend.close(),
      () => plainBackend.close(),
      () => app.close(),
    );
    dyn = {
      http: {
        routers: { app: { rule: 'Host(`app.example.com`)', entryPoints: ['websecure'], service: 'app' } },
        services: { app: { loadBalancer: { servers: [{ url: app.url }] } } },
      },
      tcp: {
        routers: {
          redis: { rule: 'HostSNI(`*`)', entryPoints: ['tcp-6379'], service: 'redis' },
          pg: { rule: 'HostSNI(`*`)', entryPoints: ['tcp-5432'], service: 'pg' },
          db: {
            rule: 'HostSNI(`db.example.com`)',
            entryPoints: ['websecure'],
            service: 'db',
            tls: { passthrough: true },
          },
          term: { rule: 'HostSNI(`term.example.com`)', entryPoints: ['websecure'], service: 'plain', tls: {} },
          dynA: { rule: 'HostSNI(`*`)', entryPoints: ['tcp-dynamic'], service: 'plain' },
          dynB: { rule: 'HostSNI(`*`)', entryPoints: ['tcp-dynamic'], service: 'plain' },
        },
        services: {
          redis: { loadBalancer: { servers: [{ address: `127.0.0.1:${redis.port}` }] } },
          pg: { loadBalancer: { servers: [{ address: `127.0.0.1:${pg.port}` }] } },
          db: { loadBalancer: { servers: [{ address: `127.0.0.1:${dbBackend.port}` }] } },
          plain: { loadBalancer: { servers: [{ address: `127.0.0.1:${plainBackend.port}` }] } },
        },
      },
      udp: {
        routers: { dns: { entryPoints: ['udp-53'], service: 'dns' } },
        services: { dns: { loadBalancer: { servers: [{ address: `127.0.0.1:${dns.port}` }] } } },
      },
      tls: { certificates: [{ certFile: termCert.certPath, keyFile: termCert.keyPath }] },
    };
    writeDyn();
    berth = await startBerth({ dir, config: berthConfig() });
    await waitUntil(async () => {
      const h = await berth!.api<{ routers: number }>('/health');
      return h.routers >= 8;
    }, 'the dynamic config to be applied');
  });

  after(async () => {
    const code = await berth?.stop();
    for (const s of stops.reverse()) await s().catch(() => undefined);
    if (berth) assert.equal(code, 0, 'berth exits 0 after SIGTERM');
  });

  test('edge.publicIPv4 generates web, websecure, the preconfigured TCP ports, the dynamic range and udp-53 on that address', async (t) => {
    if (!ready(t)) return;
    const eps = await berth!.api<{ name: string; address: string; protocol: string }[]>('/api/entrypoints');
    // Only the fields that say where it listens (with data-plane workers, entries also list the workers).
    const byName = new Map(eps.map((e) => [e.name, { name: e.name, address: e.address, protocol: e.protocol }]));
    const expected: [string, number, string][] = [
      ['web', webPort, 'tcp'],
      ['websecure', websecurePort, 'tcp'],
      ...[3306, 5432, 6379, 27017, 11211, 5672, 9092, 10000, 10001, 10002, 10003].map((p): [string, number, string] => [
        `tcp-${p}`,
        p,
        'tcp',
      ]),
      ['udp-53', 53, 'udp'],
    ];
    for (const [name, port, protocol] of expected) {
      assert.deepEqual(byName.get(name), { name, address: `${ip}:${port}`, protocol }, name);
    }
    assert.ok(!eps.some((e) => e.name.endsWith('-v6')), 'no IPv6 entrypoints without edge.publicIPv6');
    // Without a certificate resolver the generated `web` serves plain HTTP: no redirect to a
    // self-signed certificate; app.example.com has a router on websecure only.
    const res = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      const req = httpRequest(
        { host: ip, port: webPort, path: '/x?y=1', headers: { host: 'app.example.com' }, agent: false },
        (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, location: r.headers.location });
        },
      );
      idleTimeout(req, 30_000, `GET /x on ${webPort}`);
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(res, { status: 404, location: undefined });
  });

  test('redis-cli through tcp-6379 (HostSNI(`*`)) to a real redis-server', async (t) => {
    if (!ready(t)) return;
    const cli = async (...args: string[]): Promise<string> =>
      (await execFileP('redis-cli', ['-h', ip, '-p', '6379', ...args])).stdout.trim();
    assert.equal(await cli('PING'), 'PONG');
    assert.equal(await cli('SET', 'berth:l4', 'through-berth'), 'OK');
    assert.equal(await cli('GET', 'berth:l4'), 'through-berth');
  });

  test('psql through tcp-5432 to a real PostgreSQL (server-first protocol after the startup message)', async (t) => {
    if (!ready(t)) return;
    const { stdout } = await execFileP(
      'psql',
      ['-h', ip, '-p', '5432', '-U', 'postgres', '-tAc', 'select 41 + 1, current_user'],
      { env: { ...process.env, PGCONNECT_TIMEOUT: '10' } },
    );
    assert.equal(stdout.trim(), '42|postgres');
  });

  test('websecure: SNI db.example.com is passed through raw; another SNI on the same port reaches the HTTP router', async (t) => {
    if (!ready(t)) return;
    const db = await tlsTo(ip, websecurePort, 'db.example.com');
    try {
      assert.equal(db.cert.subject.CN, 'db.example.com', "the client sees the backend's own certificate");
      assert.equal(
        db.cert.fingerprint256,
        new (await import('node:crypto')).X509Certificate(dbCert.cert).fingerprint256,
      );
      assert.equal(
        await exchange(db.socket, 'hello'),
        'db:hello',
        'the bytes reach the TLS backend, which decrypts them itself',
      );
    } finally {
      db.socket.destroy();
    }

    const http = await new Promise<{ status: number; body: string; cert: PeerCertificate }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: ip,
          port: websecurePort,
          servername: 'app.example.com',
          path: '/hello',
          headers: { host: 'app.example.com' },
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          const cert = (res.socket as TLSSocket).getPeerCertificate();
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          rejectIfCut(res, reject, `GET /hello on ${websecurePort}`);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cert }));
        },
      );
      idleTimeout(req, 30_000, `GET /hello on ${websecurePort}`);
      req.on('error', reject);
      req.end();
    });
    assert.equal(http.status, 200);
    const seen = JSON.parse(http.body) as { name: string; url: string; headers: Record<string, string> };
    assert.equal(seen.name, 'app');
    assert.equal(seen.url, '/hello');
    assert.equal(seen.headers['x-forwarded-proto'], 'https', 'TLS was terminated by berth');
    assert.notEqual(http.cert.fingerprint256, db.cert.fingerprint256, 'berth terminates with its own certificate');
    assert.equal(
      http.cert.issuer.CN,
      'TRAEFIK DEFAULT CERT',
      'no certificate matches app.example.com: the generated default serves',
    );
  });

  test("a TLS-terminating TCP router serves the store's certificate and forwards plaintext", async (t) => {
    if (!ready(t)) return;
    const term = await tlsTo(ip, websecurePort, 'term.example.com');
    try {
      assert.equal(
        term.cert.fingerprint256,
        new (await import('node:crypto')).X509Certificate(termCert.cert).fingerprint256,
        "the file provider's certificate for term.example.com",
      );
      assert.equal(await exchange(term.socket, 'ping'), 'plain:ping', 'the plaintext backend got the decrypted bytes');
    } finally {
      term.socket.destroy();
    }
  });

  test('clients that vanish right after the TLS handshake leave no half-open socket behind on websecure', async (t) => {
    if (!ready(t)) return;
    // destroy() sends a FIN without TLS close_notify: berth must close its side of the accepted socket.
    for (const sni of ['app.example.com', 'term.example.com', 'db.example.com', 'unknown.example.com']) {
      const c = await tlsTo(ip, websecurePort, sni, ['http/1.1']);
      c.socket.destroy();
    }
    // The handshake timeout (10 s) would end them eventually; they must go at once.
    await waitUntil(
      () => closeWaitOn(ip, websecurePort) === 0,
      `no CLOSE-WAIT socket on ${ip}:${websecurePort} (now ${closeWaitOn(ip, websecurePort)})`,
      3_000,
      50,
    );
  });

  test('dig through udp-53 to a real DNS server (pebble-challtestsrv)', async (t) => {
    if (!ready(t)) return;
    const { stdout } = await execFileP('dig', [
      '+short',
      '+time=2',
      '+tries=2',
      `@${ip}`,
      '-p',
      '53',
      'anything.example.com',
      'A',
    ]);
    assert.equal(stdout.trim(), '127.0.0.1');
    // A second query from a new client port gets its own session and an answer too.
    const again = await execFileP('dig', [
      '+short',
      '+time=2',
      '+tries=2',
      `@${ip}`,
      '-p',
      '53',
      'other.example.net',
      'A',
    ]);
    assert.equal(again.stdout.trim(), '127.0.0.1');
  });

  test('tcp-dynamic routers get ports from edge.dynamicPorts, listed in /ports, served, and unchanged after a restart', async (t) => {
    if (!ready(t)) return;
    interface Ports {
      allocations: { key: string; protocol: string; port: number }[];
      range: { from: number; to: number };
    }
    const ports = await berth!.api<Ports>('/ports');
    assert.deepEqual(ports.range, { from: 10000, to: 10003 });
    const portOf = (p: Ports, key: string): number | undefined =>
      p.allocations.find((a) => a.key === key && a.protocol === 'tcp')?.port;
    const a = portOf(ports, 'dynA@file');
    const b = portOf(ports, 'dynB@file');
    assert.ok(a !== undefined && b !== undefined, JSON.stringify(ports));
    assert.notEqual(a, b);
    for (const p of [a, b]) {
      assert.ok(p >= 10000 && p <= 10003);
      assert.equal(await tcpRoundTrip(ip, p, 'dyn'), 'plain:dyn');
    }

    // Restart with the same state directory, without dynA: dynB keeps its port even when a lower one is free.
    const code = await berth!.stop();
    assert.equal(code, 0);
    delete dyn.tcp.routers.dynA;
    writeDyn();
    berth = await startBerth({ dir, config: berthConfig() });
    await waitUntil(
      async () => portOf(await berth!.api<Ports>('/ports'), 'dynB@file') !== undefined,
      'dynB to get its port again',
    );
    const after = await berth.api<Ports>('/ports');
    assert.equal(portOf(after, 'dynB@file'), b, 'the same port after the restart');
    await waitUntil(
      async () => (await tcpRoundTrip(ip, b, 'again')) === 'plain:again',
      'dynB to be served on its port',
    );
    // The restarted berth serves the rest as before.
    assert.equal(
      (await execFileP('redis-cli', ['-h', ip, '-p', '6379', 'GET', 'berth:l4'])).stdout.trim(),
      'through-berth',
    );
  });
});
