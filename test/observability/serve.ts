import { request } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { H1Server } from '../../src/engine/h1-server.ts';
import type { ProxyRequest, ProxyResponse, RequestContext } from '../../src/http/handler.ts';
import type { LineSink } from '../../src/observability/line-sink.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

/** A sink that keeps lines in memory. */
export function memorySink(): LineSink & { lines: string[]; writes: number; closed: boolean } {
  const s = {
    lines: [] as string[],
    writes: 0,
    closed: false,
    write(chunks: readonly Uint8Array[], done: (err: Error | null) => void) {
      s.writes++;
      for (const l of Buffer.concat(chunks).toString('utf8').split('\n')) if (l) s.lines.push(l);
      setImmediate(() => done(null));
    },
    close() {
      s.closed = true;
    },
  };
  return s;
}

/** What a test server does for one request: set up the context, then answer. */
export type TestRoute = (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext) => void;

/**
 * A loopback HTTP server (berth's HTTP/1.1 engine) that builds a RequestContext per request the
 * way the entrypoint does and calls `onResponse` when the response is over.
 */
export async function serve(
  route: TestRoute,
  onResponse: (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext) => void,
): Promise<{ port: number; server: Server; close(): Promise<void> }> {
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
        const remote = req.remoteAddress;
        const ctx: RequestContext = {
          entrypoint: 'web',
          scheme: 'http',
          remoteIp: remote,
          clientIp: remote,
          trustedPeer: false,
          host: (req.headers.get('host') ?? '').replace(/:\d+$/, ''),
          path: req.url,
          start: performance.now(),
        };
        req.ctx = ctx;
        route(req, res, ctx);
      },
      done(req, res) {
        if (req.ctx !== undefined) onResponse(req, res, req.ctx);
      },
    },
  );
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    h1.accept(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
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

/** One request; resolves with status and body once the response ended. */
export function send(
  port: number,
  opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        rejectIfCut(res, reject, `${opts.method ?? 'GET'} ${opts.path ?? '/'} on ${port}`);
      },
    );
    idleTimeout(req, 30_000, `${opts.method ?? 'GET'} ${opts.path ?? '/'} on ${port}`);
    req.on('error', reject);
    req.end(opts.body);
  });
}
