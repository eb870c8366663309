import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, createServer as createTlsServer, type SecureContext, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { buildTcpRouting } from '../../src/tcp/build.ts';
import { dispatchConnection, type DispatchLimits, type HttpHandoff } from '../../src/tcp/dispatch.ts';
import type { TcpEntrypointRouting } from '../../src/tcp/routing.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import type { EntryPointConfig } from '../../src/config/static/types.ts';
import type { TlsContextSource } from '../../src/tls/types.ts';
import { idleTimeout, withTimeout } from '../helpers/with-timeout.ts';

export const silentLogger = pino({ level: 'silent' });

/** A self-signed EC certificate for `name` (openssl). */
export function selfSigned(name: string): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A certificate store stand-in: exact names, else the default pair. */
export function fakeTlsSource(
  pairs: Record<string, { key: string; cert: string }>,
  def: { key: string; cert: string },
): TlsContextSource {
  const ctx = new Map<string, SecureContext>(Object.entries(pairs).map(([n, p]) => [n, createSecureContext(p)]));
  const defCtx = createSecureContext(def);
  return {
    sniCallback(name, cb) {
      cb(null, ctx.get(name.toLowerCase()) ?? defCtx);
    },
    contextFor(name, options, _key, strict, cb) {
      const pair = pairs[name.toLowerCase()];
      if (!pair && strict) cb(new Error(`no certificate for ${name}`));
      else cb(null, createSecureContext({ ...options, ...(pair ?? def) }));
    },
    defaultCertificate() {
      return def;
    },
  };
}

export async function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as AddressInfo).port;
}

/** Closes servers and every socket they still hold. */
export async function closeAll(...servers: (Server | undefined)[]): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        s &&
        new Promise<void>((r) => {
          s.close(() => r());
          (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    ),
  );
}

/** Tracks sockets of a server so the test can destroy them at the end. */
export function track(server: Server): Set<Socket> {
  const set = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    set.add(s);
    s.on('close', () => set.delete(s));
  });
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of set) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return set;
}

/** An echo server (allowHalfOpen: ends after the client ends). */
export async function echoServer(prefix = ''): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    if (prefix) s.write(prefix);
    s.pipe(s);
  });
  track(server);
  return { server, port: await listen(server) };
}

/** Records which handoff got the socket; `https` ends TLS with its own certificate and answers "https". */
export function recordingHandoff(httpsPair: {
  key: string;
  cert: string;
}): HttpHandoff & { calls: string[]; close(): void } {
  const calls: string[] = [];
  const tlsServer = createTlsServer({ ...httpsPair }, (s: TLSSocket) => {
    s.on('error', () => undefined);
    s.end('https-handoff');
  });
  const sockets = new Set<Socket>();
  return {
    calls,
    http(socket) {
      calls.push('http');
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.end('http-handoff');
    },
    https(socket) {
      calls.push('https');
      sockets.add(socket);
      tlsServer.emit('connection', socket);
    },
    close() {
      for (const s of sockets) s.destroy();
    },
  };
}

export const defaultLimits: DispatchLimits = { peekTimeoutMs: 500, maxHelloBytes: 16384, logger: silentLogger };

/** A TCP entrypoint that dispatches to routing built from `config`. */
export async function startEntrypoint(
  config: DynamicConfig,
  opts: { handoff: HttpHandoff; limits?: DispatchLimits; tls?: TlsContextSource; name?: string },
): Promise<{ server: Server; port: number; routing: TcpEntrypointRouting | undefined; diagnostics: unknown[] }> {
  const name = opts.name ?? 'ep';
  const eps: Record<string, EntryPointConfig> = {
    [name]: { address: '127.0.0.1:0', host: '127.0.0.1', port: 0, protocol: 'tcp' },
  };
  const built = buildTcpRouting(config, eps, { logger: silentLogger, ...(opts.tls ? { tls: opts.tls } : {}) });
  const routing = built.routing.get(name);
  const limits = opts.limits ?? defaultLimits;
  const server = createServer({ allowHalfOpen: true }, (s) => dispatchConnection(s, routing, opts.handoff, limits));
  track(server);
  return { server, port: await listen(server), routing, diagnostics: built.diagnostics };
}

/** Connects, optionally writes, ends, and collects everything until the server closes. */
export async function exchange(
  port: number,
  data?: string | Buffer,
  opts: { end?: boolean } = {},
): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    const s = idleTimeout(connect({ host: '127.0.0.1', port, allowHalfOpen: true }), 30_000, `exchange on ${port}`);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => s.end());
    s.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    s.on('close', () => resolve({ data: Buffer.concat(chunks).toString(), ...(error ? { error } : {}) }));
    s.on('connect', () => {
      if (data !== undefined) s.write(data);
      if (opts.end !== false) s.end();
    });
  });
}

/** Reads from a socket until `predicate` holds on the text so far. */
export function readUntil(s: Socket | TLSSocket, predicate: (text: string) => boolean): Promise<string> {
  let text = '';
  const read = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      text += d.toString();
      if (predicate(text)) {
        s.off('data', onData);
        resolve(text);
      }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error(`closed before expected data; got ${JSON.stringify(text)}`)));
  });
  return withTimeout(read, 30_000, `expected data on port ${s.remotePort}`).catch((err: Error) => {
    throw new Error(`${err.message}; got ${JSON.stringify(text)}`);
  });
}

/**
 * A loopback proxy between a client and `targetPort` that rewrites the client's first TLS record
 * (the ClientHello) into records of `recordSizes` and sends it in `segment`-byte writes with a
 * pause between them (Nagle off), then relays everything else unchanged.
 */
export async function fragmentingProxy(
  targetPort: number,
  opts: { recordSizes?: number[]; segment: number; pauseMs: number },
): Promise<{ server: Server; port: number }> {
  const { resplitRecords } = await import('./hello-fixtures.ts');
  const server = createServer((client) => {
    const up = connect({ host: '127.0.0.1', port: targetPort });
    up.setNoDelay(true);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    up.pipe(client);
    let buf = Buffer.alloc(0);
    const onData = async (d: Buffer): Promise<void> => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 5 || buf.length < 5 + buf.readUInt16BE(3)) return;
      client.off('data', onData);
      client.pause();
      const recLen = 5 + buf.readUInt16BE(3);
      const hello = opts.recordSizes
        ? resplitRecords(buf.subarray(0, recLen), opts.recordSizes)
        : buf.subarray(0, recLen);
      for (let i = 0; i < hello.length; i += opts.segment) {
        if (up.destroyed) return;
        up.write(hello.subarray(i, i + opts.segment));
        await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
      if (buf.length > recLen) up.write(buf.subarray(recLen));
      client.pipe(up);
      client.resume();
    };
    client.on('data', onData);
  });
  track(server);
  return { server, port: await listen(server) };
}
