import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Handler, ProxyRequest, RequestContext } from '../../../src/http/handler.ts';
import type { BuiltMiddleware, MiddlewareEnv, MiddlewareFactory } from '../../../src/http/middlewares/types.ts';
import { requestBody } from '../../../src/http/middlewares/body.ts';
import { decodePath } from '../../../src/http/middlewares/path.ts';
import { stripHopByHop } from '../../../src/http/hop-by-hop.ts';
import { H1Server } from '../../../src/engine/h1-server.ts';
import { hasToken } from '../../../src/engine/header-list.ts';
import { idleTimeout } from '../../helpers/with-timeout.ts';

/** What the echo handler answers: the request as it reached the service. */
export interface Echo {
  method: string;
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The final handler used when a test does not give one: echoes the request as JSON. */
export const echoHandler: Handler = (req, res, ctx) => {
  const chunks: Buffer[] = [];
  const body = requestBody(req);
  body.on('data', (c: Buffer) => chunks.push(c));
  body.on('error', () => res.destroy());
  body.on('end', () => {
    const echo: Echo = {
      method: req.method,
      url: req.url,
      path: ctx.path,
      headers: req.headers.toObject(),
      body: Buffer.concat(chunks).toString(),
    };
    const buf = Buffer.from(JSON.stringify(echo));
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', buf.length);
    res.writeHead(200);
    res.end(buf);
  });
};

/** A final handler serving a fixed response like the forwarder would (setHeader, writeHead, body). */
export function fixedHandler(
  status: number,
  headers: Record<string, string | string[]>,
  body: string | Buffer | Buffer[],
): Handler {
  return (req, res, ctx) => {
    ctx.responseStarted = true;
    requestBody(req).resume();
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.writeHead(status);
    const parts = Array.isArray(body) ? body : [typeof body === 'string' ? Buffer.from(body) : body];
    for (const p of parts) res.write(p);
    res.end();
  };
}

export interface HarnessOptions {
  scheme?: 'http' | 'https';
  trustedPeer?: boolean;
  final?: Handler;
  services?: Record<string, Handler>;
  tmpDir?: string;
}

export interface Harness {
  port: number;
  tmpDir: string;
  /** Contexts of requests seen, in order. */
  contexts: RequestContext[];
  close(): Promise<void>;
}

export const silentLogger = pino({ level: 'silent' });

/** Builds a middleware or fails the test with its option error. */
export function build(
  factory: MiddlewareFactory,
  options: Record<string, unknown>,
  env: Partial<MiddlewareEnv> = {},
): BuiltMiddleware {
  const built = factory(options, {
    name: 'test@file',
    logger: silentLogger,
    service: () => undefined,
    tmpDir: tmpdir(),
    ...env,
  });
  if ('error' in built) throw new Error(`unexpected option error: ${built.error}`);
  return built;
}

/**
 * Starts a real HTTP server on 127.0.0.1:0 (berth's HTTP/1.1 engine) whose handler builds a
 * request context as the entrypoint does and runs `mw.wrap(final)`.
 */
export async function startHarness(
  factory: MiddlewareFactory | BuiltMiddleware[],
  options: Record<string, unknown>,
  hopts: HarnessOptions = {},
): Promise<Harness> {
  const tmpDir = hopts.tmpDir ?? mkdtempSync(join(tmpdir(), 'berth-mw-'));
  const services = hopts.services ?? {};
  const env: Partial<MiddlewareEnv> = { tmpDir, service: (n) => services[n] };
  const chain = Array.isArray(factory) ? factory : [build(factory, options, env)];
  let handler = hopts.final ?? echoHandler;
  for (let i = chain.length - 1; i >= 0; i--) handler = chain[i]!.wrap(handler);
  const contexts: RequestContext[] = [];
  const makeCtx = (req: ProxyRequest): RequestContext => {
    const remoteIp = req.remoteAddress;
    const url = req.url;
    const q = url.indexOf('?');
    const ctx: RequestContext = {
      entrypoint: 'web',
      scheme: hopts.scheme ?? 'http',
      remoteIp,
      clientIp: remoteIp,
      trustedPeer: hopts.trustedPeer ?? false,
      host: (req.headers.get('host') ?? '').replace(/:\d+$/, '').toLowerCase(),
      path: decodePath(q === -1 ? url : url.slice(0, q)),
      start: performance.now(),
    };
    contexts.push(ctx);
    return ctx;
  };
  // As the entrypoint does: hop-by-hop headers (Transfer-Encoding among them) are gone before
  // routing; a WebSocket handshake is marked as one.
  const h1 = new H1Server(
    {
      maxHeaderBytes: 16_384,
      maxHeaderCount: 200,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 10_000,
    },
    {
      request(req, res) {
        if (req.tunnel !== undefined) {
          const token = req.headers.get('upgrade');
          req.upgrade = token !== undefined && hasToken(token, 'websocket');
        }
        stripHopByHop(req.headers, req.upgrade);
        const ctx = makeCtx(req);
        req.ctx = ctx;
        handler(req, res, ctx);
      },
      done() {
        /* nothing logged */
      },
    },
  );
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    h1.accept(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    tmpDir,
    contexts,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const m of chain) m.close?.();
      if (!hopts.tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** One request over a fresh connection (node:http), fully read. */
export function send(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        agent: false,
        headers: { host: 'example.com', ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString() });
        });
        res.on('error', reject);
      },
    );
    idleTimeout(req, 30_000, `${opts.method ?? 'GET'} ${opts.path ?? '/'} on ${port}`);
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The echo of a request that reached the service. */
export function echoOf(r: Reply): Echo {
  return JSON.parse(r.text) as Echo;
}
