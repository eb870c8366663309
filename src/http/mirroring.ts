import { BufferBody } from '../engine/body.ts';
import { ProxyRequest, type BodyConsumer, type BodySource } from '../engine/message.ts';
import { DISCARD_SINK, ProxyResponse } from '../engine/response.ts';
import type { Handler, RequestContext } from './handler.ts';
import { setReplayableBody } from './middlewares/body.ts';
import { sendStatus } from './responses.ts';
import type { ServiceInfo } from './service-builder.ts';

/** A copy of `req` for a mirror: same method, target and headers, the given body (or none). */
function mirrorRequest(req: ProxyRequest, body: Buffer | undefined): ProxyRequest {
  const headers = req.headers.clone();
  headers.delete('transfer-encoding');
  if (body !== undefined && body.length > 0) headers.set('content-length', String(body.length));
  else headers.delete('content-length');
  return new ProxyRequest(
    req.method,
    req.url,
    headers,
    body !== undefined && body.length > 0 ? new BufferBody(body) : null,
    1,
    1,
    req.socket,
    req.remoteAddress,
    req.remotePort,
  );
}

/**
 * Reads a body for the mirrors up to `max` bytes. Complete within the limit: `whole` gets it.
 * Past the limit: `over` gets a body that replays what was read and then relays the rest, so the
 * main service still receives all of it (unmirrored).
 */
class MirrorBody implements BodySource, BodyConsumer {
  readonly length: number;
  started = false;
  private readonly source: BodySource;
  private readonly max: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private relaying = false;
  private consumer: BodyConsumer | undefined = undefined;
  private ended = false;
  private error: Error | undefined = undefined;
  private readonly whole: (body: Buffer) => void;
  private readonly over: (body: BodySource) => void;
  private readonly failed: () => void;

  constructor(
    source: BodySource,
    max: number,
    whole: (body: Buffer) => void,
    over: (body: BodySource) => void,
    failed: () => void,
  ) {
    this.source = source;
    this.length = source.length;
    this.max = max;
    this.whole = whole;
    this.over = over;
    this.failed = failed;
    source.start(this);
  }

  onBodyData(chunk: Buffer): boolean {
    if (!this.relaying) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      if (this.max < 0 || this.size <= this.max) return true;
      this.relaying = true;
      this.over(this);
      return this.consumer !== undefined && this.chunks.length === 0;
    }
    if (this.consumer === undefined || this.chunks.length > 0) {
      this.chunks.push(chunk);
      return false;
    }
    return this.consumer.onBodyData(chunk);
  }

  onBodyEnd(): void {
    this.ended = true;
    if (!this.relaying) {
      this.whole(Buffer.concat(this.chunks, this.size));
      return;
    }
    this.flush();
  }

  onBodyError(err: Error): void {
    this.error = err;
    if (!this.relaying) {
      this.failed();
      return;
    }
    const c = this.consumer;
    this.consumer = undefined;
    c?.onBodyError(err);
  }

  start(consumer: BodyConsumer): void {
    this.started = true;
    this.consumer = consumer;
    if (this.error !== undefined) {
      this.consumer = undefined;
      consumer.onBodyError(this.error);
      return;
    }
    this.flush();
  }

  resume(): void {
    this.flush();
  }

  cancel(): void {
    this.consumer = undefined;
    this.chunks = [];
    this.source.cancel();
  }

  private flush(): void {
    const c = this.consumer;
    if (c === undefined) return;
    while (this.chunks.length > 0) {
      if (!c.onBodyData(this.chunks.shift()!)) return;
    }
    if (this.ended) {
      this.consumer = undefined;
      c.onBodyEnd();
      return;
    }
    this.source.resume();
  }
}

/**
 * Traefik's mirroring service: the main service answers; each mirror gets a copy of `percent` % of
 * the requests (spread evenly, as Traefik counts them) and its answers are dropped. With a body,
 * the body is read into memory first (up to `maxBodySize`; a larger request is served but not
 * mirrored) and both the main service and the mirrors get it; `mirrorBody: false` mirrors
 * without the body.
 */
export function mirroringHandler(
  name: string,
  main: string,
  mirrors: readonly { name: string; percent: number }[],
  mirrorBody: boolean,
  maxBodySize: number,
  resolve: (n: string) => { handler: Handler; info: ServiceInfo } | undefined,
): { handler: Handler; info: ServiceInfo } {
  const counts = mirrors.map(() => 0);
  let total = 0;
  const pick = (): string[] => {
    total++;
    const out: string[] = [];
    mirrors.forEach((m, i) => {
      if (counts[i]! * 100 < total * Math.max(0, Math.min(100, m.percent))) {
        counts[i]!++;
        out.push(m.name);
      }
    });
    return out;
  };
  const send = (names: readonly string[], req: ProxyRequest, ctx: RequestContext, body: Buffer | undefined): void => {
    for (const n of names) {
      const svc = resolve(n);
      if (!svc) continue;
      const copy = mirrorRequest(req, body);
      const mctx: RequestContext = {
        entrypoint: ctx.entrypoint,
        scheme: ctx.scheme,
        remoteIp: ctx.remoteIp,
        clientIp: ctx.clientIp,
        trustedPeer: ctx.trustedPeer,
        host: ctx.host,
        path: ctx.path,
        start: ctx.start,
        service: n,
      };
      copy.ctx = mctx;
      svc.handler(copy, new ProxyResponse(copy, DISCARD_SINK), mctx);
    }
  };
  const handler: Handler = (req, res, ctx) => {
    const m = resolve(main);
    if (!m) {
      sendStatus(res, 503, 'no available server\n');
      return;
    }
    ctx.service ??= name;
    const active = req.upgrade ? [] : pick();
    if (active.length === 0) {
      m.handler(req, res, ctx);
      return;
    }
    const body = req.body;
    if (body === null || !mirrorBody) {
      send(active, req, ctx, undefined);
      m.handler(req, res, ctx);
      return;
    }
    if (maxBodySize >= 0 && body.length > maxBodySize) {
      m.handler(req, res, ctx);
      return;
    }
    // Read the body once for everyone; past maxBodySize the request goes on unmirrored.
    new MirrorBody(
      body,
      maxBodySize,
      (whole) => {
        if (res.closed) return;
        setReplayableBody(req, whole.length, () => new BufferBody(whole));
        send(active, req, ctx, whole);
        m.handler(req, res, ctx);
      },
      (rest) => {
        req.body = rest;
        m.handler(req, res, ctx);
      },
      () => {
        /* the body could not complete: the engine answers */
      },
    );
  };
  const info: ServiceInfo = {
    name,
    type: 'mirroring',
    servers: () => resolve(main)?.info.servers() ?? [],
    available: () => resolve(main)?.info.available() ?? false,
  };
  return { handler, info };
}
