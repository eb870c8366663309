/**
 * A stand-in for seed 004's control plane (`GET /v1/traefik/proxy-config` behind a Bearer token) on
 * 127.0.0.1, whose answer can be switched to every kind of failure the HTTP provider must survive.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the stub answers the next requests. */
export type StubMode =
  | { kind: 'config'; body: string; contentType?: string }
  | { kind: 'status'; status: number }
  | { kind: 'raw'; body: string; contentType?: string }
  | { kind: 'truncated'; body: string }
  | { kind: 'hang' }
  | { kind: 'redirect'; location: string };

export const PATH = '/v1/traefik/proxy-config';

export class StubControlPlane {
  readonly token: string;
  mode: StubMode = { kind: 'status', status: 503 };
  /** Authorization header of every request received, in order. */
  readonly requests: { path: string; authorization: string | undefined; headers: IncomingMessage['headers'] }[] = [];
  /** Requests whose connection closed before an answer was sent (aborted by the client). */
  abortedRequests = 0;
  #server: Server | undefined;
  #port = 0;
  #listeners = new Set<() => void>();

  constructor(token: string) {
    this.token = token;
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}${PATH}`;
  }

  /** Listens on 127.0.0.1 (a fresh port the first time, the same port after a `close()`). */
  async listen(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops every connection: the control plane is "down". */
  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `check()` holds, re-checked on every request; rejects after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(l);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const l = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.#listeners.delete(l);
        resolve();
      };
      this.#listeners.add(l);
    });
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ path: req.url ?? '', authorization: req.headers.authorization, headers: req.headers });
    res.on('close', () => {
      if (!res.writableEnded) {
        this.abortedRequests++;
        this.#notify();
      }
    });
    const mode = this.mode;
    this.#notify();
    if (req.url === '/moved') {
      res.writeHead(302, { location: PATH }).end();
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    switch (mode.kind) {
      case 'config':
        res.writeHead(200, { 'content-type': mode.contentType ?? 'application/json' }).end(mode.body);
        return;
      case 'raw':
        res.writeHead(200, mode.contentType ? { 'content-type': mode.contentType } : {}).end(mode.body);
        return;
      case 'status':
        res.writeHead(mode.status, { 'content-type': 'text/plain' }).end('internal error');
        return;
      case 'truncated': {
        // Promise the whole body, send half, then cut the connection.
        const half = mode.body.slice(0, Math.floor(mode.body.length / 2));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(mode.body) });
        res.write(half, () => res.destroy());
        return;
      }
      case 'hang':
        return;
      case 'redirect':
        res.writeHead(302, { location: mode.location }).end();
        return;
    }
  }
}
