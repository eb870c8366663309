import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** One HTTP/1 request as the recording upstream parsed it from the bytes it received. */
export interface RecordedRequest {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Header names lower-cased, values as received (duplicates joined with `, `). */
  readonly headers: Record<string, string>;
  /** Raw header lines in order, as received. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** How the body was framed on the wire. */
  readonly framing: 'none' | 'length' | 'chunked';
}

/** One accepted connection: every byte received, and the requests parsed from them. */
export interface RecordedConnection {
  readonly id: number;
  readonly socket: Socket;
  /** Everything received on this connection so far. */
  received(): Buffer;
  requests: RecordedRequest[];
  /** True once the peer closed or reset the connection. */
  closed: boolean;
}

/**
 * What the upstream does with each request. Built-ins:
 * - `valid`: 200 with a JSON echo of the request (`{ n, method, target, headers, bodyBytes, body }`), keep-alive;
 * - `invalid-framing`: a response with both Content-Length and Transfer-Encoding, and a second bogus length;
 * - `bad-length`: `Content-Length: 12, 13`;
 * - `reset-mid-body`: announces 100 000 bytes, sends 1000, then resets the connection;
 * - `silent`: reads everything, never answers;
 * - `refuse-upgrade`: 403 with a body (even to `Upgrade` requests), then keeps the socket open;
 * - a function: full control.
 */
export type UpstreamScript =
  | 'valid'
  | 'invalid-framing'
  | 'bad-length'
  | 'reset-mid-body'
  | 'silent'
  | 'refuse-upgrade'
  | ((req: RecordedRequest, conn: RecordedConnection, index: number) => void);

/** A raw TCP upstream on 127.0.0.1:0 that records every byte received per connection. */
export interface RecordingUpstream {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly connections: RecordedConnection[];
  /** Changes what the next requests get. */
  script: UpstreamScript;
  /** Every request received, across connections, in arrival order. */
  requests(): RecordedRequest[];
  /** Total bytes received across connections. */
  totalBytes(): number;
  /** Forgets closed connections, and requests and bytes recorded so far (open connections stay listed). */
  reset(): void;
  close(): Promise<void>;
}

/** Starts a recording upstream; `script` can be changed later through the returned object. */
export async function startRecordingUpstream(script: UpstreamScript = 'valid'): Promise<RecordingUpstream> {
  const connections: RecordedConnection[] = [];
  const all = new Set<Socket>();
  const order: RecordedRequest[] = [];
  const resets = new Map<RecordedConnection, () => void>();
  let nextId = 1;
  let served = 0;
  const up: RecordingUpstream = {
    server: undefined as unknown as Server,
    port: 0,
    url: '',
    connections,
    script,
    requests: () => [...order],
    totalBytes: () => connections.reduce((n, c) => n + c.received().length, 0),
    reset: () => {
      order.length = 0;
      const open = connections.filter((c) => !c.closed);
      connections.length = 0;
      for (const c of open) {
        connections.push(c);
        c.requests.length = 0;
        resets.get(c)?.();
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of all) s.destroy();
      }),
  };
  const server = createServer({ allowHalfOpen: false }, (socket) => {
    all.add(socket);
    const chunks: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const conn: RecordedConnection = {
      id: nextId++,
      socket,
      received: () => Buffer.concat(chunks),
      requests: [],
      closed: false,
    };
    connections.push(conn);
    resets.set(conn, () => {
      chunks.length = 0;
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      pending = Buffer.concat([pending, d]);
      for (;;) {
        const parsed = parseRequest(pending);
        if (!parsed) return;
        pending = pending.subarray(parsed.consumed);
        conn.requests.push(parsed.req);
        order.push(parsed.req);
        respond(up.script, parsed.req, conn, served++);
      }
    });
    socket.on('error', () => {
      conn.closed = true;
    });
    socket.on('close', () => {
      conn.closed = true;
      all.delete(socket);
      resets.delete(conn);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  Object.assign(up, { server, port, url: `http://127.0.0.1:${port}` });
  return up;
}

function respond(script: UpstreamScript, req: RecordedRequest, conn: RecordedConnection, index: number): void {
  const s = conn.socket;
  if (s.destroyed) return;
  if (typeof script === 'function') {
    script(req, conn, index);
    return;
  }
  switch (script) {
    case 'valid': {
      const body = JSON.stringify({
        n: index,
        method: req.method,
        target: req.target,
        headers: req.headers,
        bodyBytes: req.body.length,
        body: req.body.toString('latin1').slice(0, 256),
      });
      const head = req.method === 'HEAD';
      s.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${head ? '' : body}`,
      );
      return;
    }
    case 'invalid-framing':
      s.write(
        'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      );
      return;
    case 'bad-length':
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 12, 13\r\n\r\nhello world!');
      return;
    case 'reset-mid-body':
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n${'x'.repeat(1000)}`, () =>
        setTimeout(() => s.resetAndDestroy(), 50),
      );
      return;
    case 'silent':
      return;
    case 'refuse-upgrade':
      s.write('HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\n\r\nforbidden');
      return;
  }
}

/** Parses one HTTP/1 request from the start of `buf`, or returns undefined when more bytes are needed. */
export function parseRequest(buf: Buffer): { req: RecordedRequest; consumed: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ');
  const headers: Record<string, string> = {};
  const rawHeaders = lines.slice(1);
  for (const l of rawHeaders) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] !== undefined ? `${headers[k]}, ${v}` : v;
  }
  let off = end + 4;
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    for (;;) {
      const le = buf.indexOf('\r\n', off);
      if (le < 0) return undefined;
      const size = parseInt(buf.subarray(off, le).toString('latin1').split(';')[0]!, 16);
      if (!Number.isFinite(size)) return undefined;
      off = le + 2;
      if (size === 0) {
        // Trailers (if any) end with an empty line.
        const te = buf.indexOf('\r\n', off);
        if (te < 0) return undefined;
        if (te === off) {
          off += 2;
          break;
        }
        const tend = buf.indexOf('\r\n\r\n', off);
        if (tend < 0) return undefined;
        off = tend + 4;
        break;
      }
      if (buf.length < off + size + 2) return undefined;
      parts.push(buf.subarray(off, off + size));
      off += size + 2;
    }
    return {
      req: { method, target, version, headers, rawHeaders, body: Buffer.concat(parts), framing: 'chunked' },
      consumed: off,
    };
  }
  const cl = headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    if (!Number.isSafeInteger(n) || n < 0)
      return {
        req: { method, target, version, headers, rawHeaders, body: Buffer.alloc(0), framing: 'length' },
        consumed: buf.length,
      };
    if (buf.length < off + n) return undefined;
    return {
      req: {
        method,
        target,
        version,
        headers,
        rawHeaders,
        body: Buffer.from(buf.subarray(off, off + n)),
        framing: 'length',
      },
      consumed: off + n,
    };
  }
  return {
    req: { method, target, version, headers, rawHeaders, body: Buffer.alloc(0), framing: 'none' },
    consumed: off,
  };
}
