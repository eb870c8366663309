import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { freeDualPort, freePort, waitUntil } from './net.ts';
import { trackChild } from './track-child.ts';
import { idleTimeout, timeoutSignal, withTimeout } from './with-timeout.ts';

/**
 * pebble + pebble-challtestsrv on loopback, for ACME tests against a real RFC 8555 server.
 *
 * Clients talk to pebble through a small TLS-terminating proxy owned by the test: it counts
 * orders exactly (pebble itself reports no counts) and injects failures (5xx, 429 + Retry-After,
 * "down"). pebble builds its URLs from the Host header, so every URL it hands out points back at
 * the proxy and no request bypasses the count.
 */
export interface Pebble {
  /** ACME directory URL (through the counting proxy). */
  readonly directoryUrl: string;
  /** PEM file that signs the directory's TLS certificate (`caCertificates`). */
  readonly caCertPath: string;
  /** DNS server that pebble validates against (challtestsrv), `127.0.0.1:port`. */
  readonly dnsServer: string;
  /** challtestsrv management URL (`/set-txt`, `/clear-txt`, `/add-a`). */
  readonly challtestsrvUrl: string;
  readonly httpPort: number;
  readonly tlsPort: number;
  /** Root and intermediate that sign issued certificates (they change at every start); `chain` picks an alternate. */
  roots(chain?: number): Promise<{ root: string; intermediate: string }>;
  /** newOrder requests that reached pebble. */
  orders(): number;
  /** finalize requests that reached pebble (= certificates issued). */
  finalizations(): number;
  /** newAccount requests that reached pebble (= accounts registered). */
  accounts(): number;
  /** Every request that reached pebble, in order, with monotonic times: the order of ACME steps. */
  requests(): readonly PebbleRequest[];
  /** The next `count` requests whose path matches `path` fail with `status` (+ Retry-After). */
  inject(opts: { count: number; status: number; retryAfterSeconds?: number; path?: RegExp }): void;
  /** Requests rejected by an injected failure so far. */
  injected(): number;
  /** Simulates pebble being down (connections reset) until set back to false. */
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

/** One request that reached pebble; `at` and `done` are `performance.now()` of its arrival and of the end of its answer (NaN until then). */
export interface PebbleRequest {
  readonly method: string;
  /** `/order-plz`, `/authZ/…`, `/chalZ/…`, `/finalize-order/…` */
  readonly path: string;
  readonly at: number;
  done: number;
}

export interface PebbleOptions {
  /** Port pebble connects to for HTTP-01 (default: a free port). */
  httpPort?: number;
  /** Port pebble connects to for TLS-ALPN-01 (default: a free port). */
  tlsPort?: number;
  /** External Account Binding required, with these `kid → base64url HMAC key` pairs. */
  eab?: Record<string, string>;
  /** DNS server pebble validates DNS-01 against (default: its challtestsrv), `127.0.0.1:port`. */
  dnsServer?: string;
  /** Alternate root chains pebble offers besides the default (PEBBLE_ALTERNATE_ROOTS). */
  alternateRoots?: number;
  /** The directory's TLS certificate names only `localhost` and this name: no IP address. */
  serverName?: string;
}

/** Starts challtestsrv, pebble and the counting proxy; resolves once the directory answers. */
export async function startPebble(opts: PebbleOptions = {}): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pebble-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
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
      '30',
      '-subj',
      '/CN=localhost',
      '-addext',
      `subjectAltName=DNS:localhost,${opts.serverName ? `DNS:${opts.serverName}` : 'IP:127.0.0.1'}`,
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certPath, 'utf8');
  const key = readFileSync(keyPath, 'utf8');

  const [listen, mgmt, dns, ctsMgmt, httpPort, tlsPort] = [
    await freePort(),
    await freePort(),
    await freeDualPort(),
    await freePort(),
    opts.httpPort ?? (await freePort()),
    opts.tlsPort ?? (await freePort()),
  ];
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: certPath,
        privateKey: keyPath,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: opts.eab !== undefined,
        ...(opts.eab ? { externalAccountMACKeys: opts.eab } : {}),
      },
    }),
  );

  const procs: ChildProcess[] = [];
  const output: string[] = [];
  const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv) => {
    const p = trackChild(spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    p.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    p.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    procs.push(p);
    return p;
  };
  run('pebble-challtestsrv', challtestsrvDnsArgs(dns, ctsMgmt), {});
  run('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', opts.dnsServer ?? `127.0.0.1:${dns}`], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0',
    ...(opts.alternateRoots ? { PEBBLE_ALTERNATE_ROOTS: String(opts.alternateRoots) } : {}),
  });

  // The counting / failure-injecting proxy in front of pebble.
  let orders = 0;
  let finalizations = 0;
  let accounts = 0;
  let injectedCount = 0;
  const requests: PebbleRequest[] = [];
  let down = false;
  let injection: { count: number; status: number; retryAfterSeconds?: number; path?: RegExp } = {
    count: 0,
    status: 500,
  };
  const sockets = new Set<Socket>();
  const proxy = createHttpsServer({ key, cert }, (req, res) => {
    const path = req.url ?? '/';
    if (down) {
      req.socket.destroy();
      return;
    }
    if (injection.count > 0 && (!injection.path || injection.path.test(path))) {
      injection.count--;
      injectedCount++;
      const body = JSON.stringify({
        type:
          injection.status === 429
            ? 'urn:ietf:params:acme:error:rateLimited'
            : 'urn:ietf:params:acme:error:serverInternal',
        detail: `injected ${injection.status}`,
        status: injection.status,
      });
      res.writeHead(injection.status, {
        'content-type': 'application/problem+json',
        ...(injection.retryAfterSeconds !== undefined ? { 'retry-after': String(injection.retryAfterSeconds) } : {}),
      });
      res.end(body);
      return;
    }
    const seen: PebbleRequest = { method: req.method ?? 'GET', path, at: performance.now(), done: NaN };
    requests.push(seen);
    res.once('finish', () => {
      seen.done = performance.now();
    });
    if (req.method === 'POST' && path === '/order-plz') orders++;
    if (req.method === 'POST' && path.startsWith('/finalize-order/')) finalizations++;
    if (req.method === 'POST' && path === '/sign-me-up') accounts++;
    // A connection per request: a kept-alive one that pebble closes while idle resets the next request.
    const up = httpsRequest(
      {
        host: '127.0.0.1',
        port: listen,
        method: req.method,
        path,
        headers: req.headers,
        ca: cert,
        servername: 'localhost',
        agent: false,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    if (down) s.destroy();
  });
  // Clients keep their connections for a long time: one closed by the proxy while idle would reset
  // the client's next request on a machine too loaded to notice the close first.
  proxy.keepAliveTimeout = 120_000;
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyPort = (proxy.address() as AddressInfo).port;

  const get = (url: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = httpsRequest(
        url,
        { ca: cert, servername: 'localhost', checkServerIdentity: () => undefined },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      idleTimeout(r, 10_000, `pebble GET ${url}`);
      r.on('error', reject);
      r.on('close', () => reject(new Error(`pebble GET ${url}: closed before the whole answer`)));
      r.end();
    });

  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => proxy.close(() => r()));
    await Promise.all(
      procs.map((p) => {
        if (p.exitCode !== null || p.signalCode !== null) return undefined;
        const gone = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 2000);
        return withTimeout(gone, 15_000, `${p.spawnfile} (pid ${p.pid}) to exit`).finally(() => clearTimeout(t));
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntil(
      async () => (await get(`https://127.0.0.1:${listen}/dir`)).status === 200,
      'pebble directory',
      15_000,
      50,
    );
    await waitUntil(
      async () =>
        (
          await fetch(`http://127.0.0.1:${ctsMgmt}/clear-txt`, {
            method: 'POST',
            body: '{"host":"ready.test."}',
            signal: timeoutSignal(5000, `challtestsrv on ${ctsMgmt}`),
          })
        ).ok,
      'challtestsrv',
      10_000,
      50,
    );
  } catch (err) {
    await stop();
    throw new Error(`pebble did not start: ${String(err)}\n${output.join('')}`);
  }

  return {
    directoryUrl: `https://127.0.0.1:${proxyPort}/dir`,
    caCertPath: certPath,
    dnsServer: `127.0.0.1:${dns}`,
    challtestsrvUrl: `http://127.0.0.1:${ctsMgmt}`,
    httpPort,
    tlsPort,
    async roots(chain = 0) {
      const root = await get(`https://127.0.0.1:${mgmt}/roots/${chain}`);
      const intermediate = await get(`https://127.0.0.1:${mgmt}/intermediates/${chain}`);
      return { root: root.body, intermediate: intermediate.body };
    },
    orders: () => orders,
    finalizations: () => finalizations,
    accounts: () => accounts,
    requests: () => requests,
    inject(o) {
      injection = { ...o };
    },
    injected: () => injectedCount,
    setDown(d) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    stop,
  };
}

/**
 * Arguments for pebble-challtestsrv as a DNS server only, on loopback: its HTTP-01, HTTPS-01 and
 * TLS-ALPN-01 servers off, no default AAAA answer (A queries get 127.0.0.1).
 */
export function challtestsrvDnsArgs(dnsPort: number, mgmtPort: number): string[] {
  return [
    '-dns01',
    `127.0.0.1:${dnsPort}`,
    '-http01',
    '',
    '-https01',
    '',
    '-tlsalpn01',
    '',
    '-management',
    `127.0.0.1:${mgmtPort}`,
    '-defaultIPv6',
    '',
  ];
}
