import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { H1Options } from '../../src/engine/h1-options.ts';
import { H1Server } from '../../src/engine/h1-server.ts';
import type { ProxyRequest, RequestContext } from '../../src/engine/message.ts';
import type { ForwardFailure } from '../../src/engine/exchange-base.ts';
import { ProxyExchange } from '../../src/engine/proxy-exchange.ts';
import type { ProxyResponse } from '../../src/engine/response.ts';
import type { UpstreamPool, TransportOptions } from '../../src/engine/upstream-pool.ts';
import { upstreamTarget } from '../../src/engine/upstream-target.ts';

/** The engine on 127.0.0.1:0 with a handler of the test's own. */
export interface Engine {
  readonly port: number;
  readonly server: H1Server;
  /** Requests finished (or aborted), in order: method, url, status, body bytes, aborted. */
  readonly done: { method: string; url: string; status: number; bytes: number; aborted: boolean }[];
  close(): Promise<void>;
}

export const OPTIONS: H1Options = {
  maxHeaderBytes: 16_384,
  maxHeaderCount: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
};

/** Starts the HTTP/1.1 engine with `handle` for every request. */
export async function startEngine(
  handle: (req: ProxyRequest, res: ProxyResponse) => void,
  options: Partial<H1Options> = {},
): Promise<Engine> {
  const done: Engine['done'] = [];
  const h1 = new H1Server(
    { ...OPTIONS, ...options },
    {
      request: handle,
      done(req, res) {
        done.push({
          method: req.method,
          url: req.url,
          status: res.statusCode,
          bytes: res.bodyBytes,
          aborted: res.destroyed,
        });
      },
    },
  );
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    h1.accept(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    server: h1,
    done,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export const POOL: TransportOptions = {
  dialTimeoutMs: 2000,
  responseHeaderTimeoutMs: 0,
  idleConnTimeoutMs: 30_000,
  maxIdleConnsPerHost: 10,
  insecureSkipVerify: false,
};

/** The engine forwarding every request to `url` over `pool` (Host passed on, nothing else done to the request). */
export async function startProxy(
  url: string | (() => string),
  pool: UpstreamPool,
  failures?: ForwardFailure[],
): Promise<Engine> {
  return startEngine((req, res) => {
    const u = typeof url === 'string' ? url : url();
    const ctx: RequestContext = {
      entrypoint: 'test',
      scheme: 'http',
      remoteIp: req.remoteAddress,
      clientIp: req.remoteAddress,
      trustedPeer: false,
      host: '',
      path: req.url,
      start: 0,
    };
    req.ctx = ctx;
    new ProxyExchange(req, res, ctx, upstreamTarget(u, new URL(u)), pool, true, (k) => failures?.push(k)).start();
  });
}

/** What a raw exchange saw. */
export interface Seen {
  /** Everything received, latin1. */
  readonly text: string;
  /** Every status line's code, in order. */
  readonly statuses: number[];
  /** The server closed (or reset) the connection. */
  readonly closed: boolean;
  /** The close was a reset. */
  readonly reset: boolean;
}

/**
 * Writes `parts` on a fresh connection (one `write` each, the next once `until` says the previous
 * answer arrived when `stepwise`), and collects everything until the server closes or `until`
 * holds for the whole text.
 */
export function raw(
  port: number,
  parts: string | Buffer | (string | Buffer)[],
  until?: (text: string) => boolean,
  maxMs = 5000,
): Promise<Seen> {
  const list = Array.isArray(parts) ? parts : [parts];
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    let reset = false;
    const s = connect(port, '127.0.0.1', () => {
      for (const p of list) s.write(p);
    });
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({
        text,
        statuses: [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1])),
        closed,
        reset,
      });
    };
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (until?.(text)) finish(false);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') reset = true;
    });
    s.on('close', () => finish(true));
    const timer = setTimeout(() => finish(false), maxMs);
  });
}

/** `n` complete answers (by Content-Length or chunked) are in `text`. */
export function answers(n: number): (text: string) => boolean {
  return (text) => {
    let off = 0;
    for (let k = 0; k < n; k++) {
      const end = text.indexOf('\r\n\r\n', off);
      if (end < 0) return false;
      const head = text.slice(off, end);
      const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (cl) {
        off = end + 4 + Number(cl[1]);
      } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        const last = text.indexOf('\r\n0\r\n', end);
        if (last < 0) return false;
        const close = text.indexOf('\r\n\r\n', last + 3);
        if (close < 0) return false;
        off = close + 4;
      } else off = end + 4;
      if (off > text.length) return false;
    }
    return true;
  };
}
