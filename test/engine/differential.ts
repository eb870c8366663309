import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import fc from 'fast-check';
import { UpstreamPool } from '../../src/engine/upstream-pool.ts';
import { POOL, startProxy, type Engine } from './harness.ts';

/**
 * Differential testing of berth's HTTP/1.1 engine against node:http. The same bytes go to
 * node:http directly and to the engine in front of a node:http upstream; both must accept or
 * refuse alike, and every request the engine forwards must be the one node:http parsed (method,
 * target, body) — same framing, nothing smuggled, nothing lost. Shared by the bounded run in
 * `npm test` and the long run in `bench/fuzz.ts`.
 */

/** A request as an application sees it: only complete requests count. */
export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

/** Records every complete request and answers it with an empty 200. */
function recorder(): { server: HttpServer; seen: Seen[][]; connection: Map<object, Seen[]> } {
  const seen: Seen[][] = [];
  const connection = new Map<object, Seen[]>();
  const server = createHttpServer(
    { requireHostHeader: false, keepAliveTimeout: 30_000 },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        connection
          .get(req.socket)
          ?.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('latin1') });
        res.writeHead(200, { 'content-length': 0 });
        res.end();
      });
      req.on('error', () => undefined);
    },
  );
  server.on('connection', (s: Socket) => {
    const list: Seen[] = [];
    seen.push(list);
    connection.set(s, list);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    socket.end(
      `HTTP/1.1 ${err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400} Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
    );
  });
  return { server, seen, connection };
}

/** The two sides: node:http itself, and the engine forwarding to a node:http upstream. */
export interface Sides {
  /** Sends `bytes` to both and returns the requests each side's application got. */
  compare(bytes: Buffer): Promise<{ node: Seen[]; engine: Seen[] }>;
  close(): Promise<void>;
}

/** A request every exchange ends with: when the connection is still in sync, both see it. */
const SENTINEL = 'GET /__end HTTP/1.1\r\nHost: end.test\r\nConnection: close\r\n\r\n';
/** After the sentinel: absorbs a body longer than sent, then breaks any parse, so no exchange hangs. */
const PADDING = 'X'.repeat(2048);

export async function startSides(): Promise<Sides> {
  const ref = recorder();
  const up = recorder();
  await new Promise<void>((r) => ref.server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  const pool = new UpstreamPool({ ...POOL, maxIdleConnsPerHost: -1 });
  const upUrl = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}`;
  const engine: Engine = await startProxy(upUrl, pool);
  const refPort = (ref.server.address() as AddressInfo).port;
  return {
    async compare(bytes) {
      const refBefore = ref.seen.length;
      await send(refPort, bytes);
      const node = ref.seen.slice(refBefore).flat();
      const upBefore = up.seen.length;
      await send(engine.port, bytes);
      // The engine closes its client connection once the upstream has answered everything it forwarded.
      const engineSeen = up.seen.slice(upBefore).flat();
      return { node, engine: engineSeen };
    },
    async close() {
      await engine.close();
      pool.close();
      for (const s of [ref.server, up.server]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}

/** Writes the bytes, the sentinel and the padding, and resolves once the server closed (at most 10 s). */
function send(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(bytes);
      s.write(SENTINEL);
      s.write(PADDING);
    });
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// ---- generators ----

const CRLF = '\r\n';
const cleanMethod = fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH');
const oddMethod = fc.constantFrom('get', 'G ET', 'GET\t', 'PROPFIND', 'QUERY', 'FOO', '');
const cleanTarget = fc.constantFrom('/', '/a?b=c', '/%2e%2e/x', '/a;b', '*', 'http://h.test/p?q', '//x');
const oddTarget = fc.constantFrom('/a b', '', '/\u00e9', '/a\tb');
const oddVersion = fc.constantFrom('HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', '');
const cleanHeader = fc.tuple(
  fc.constantFrom('X-A', 'Content-Type', 'Accept', 'Cookie', 'Connection'),
  fc.constant(': '),
  fc.constantFrom('v', 'a,b', 'keep-alive', 'text/plain', 'x=1'),
);
const oddHeader = fc.tuple(
  fc.constantFrom(
    'Host',
    'X-A',
    'X_Under',
    'Content-Length',
    'Transfer-Encoding',
    'Trailer',
    'TE',
    'Connection',
    'X A',
    '',
  ),
  fc.constantFrom(': ', ':', ' : ', ':\t', ':  '),
  fc.constantFrom(
    'h.test',
    '',
    ' spaced ',
    'close',
    'chunked',
    'gzip, chunked',
    'identity',
    '0',
    '3',
    '10',
    '-1',
    '+3',
    '3, 3',
    '0x3',
    'tab\there',
    '\u00e9',
    '\u0000',
  ),
);

/** One request: head lines, then a body framed by Content-Length or chunked, or none; mostly valid. */
const request = fc
  .record({
    method: fc.oneof({ weight: 12, arbitrary: cleanMethod }, { weight: 1, arbitrary: oddMethod }),
    target: fc.oneof({ weight: 12, arbitrary: cleanTarget }, { weight: 1, arbitrary: oddTarget }),
    version: fc.oneof({ weight: 12, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: oddVersion }),
    host: fc.oneof({ weight: 10, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    headers: fc.array(fc.oneof({ weight: 6, arbitrary: cleanHeader }, { weight: 1, arbitrary: oddHeader }), {
      maxLength: 4,
    }),
    framing: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('none', 'length', 'chunked') },
      { weight: 1, arbitrary: fc.constant('both') },
    ),
    body: fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x')),
    chunks: fc.array(
      fc.tuple(
        fc.nat({ max: 20 }),
        fc.oneof(
          { weight: 6, arbitrary: fc.constant('') },
          { weight: 1, arbitrary: fc.constantFrom(';ext=1', ';a="b"', ' ', ';') },
        ),
      ),
      { maxLength: 3 },
    ),
    sizeStyle: fc.oneof(
      { weight: 8, arbitrary: fc.constant('hex') },
      { weight: 1, arbitrary: fc.constantFrom('HEX', 'padded', 'wrong') },
    ),
    trailers: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant('X-T: 1\r\n') }),
  })
  .map((r) => {
    let head = `${r.method} ${r.target} ${r.version}`.replace(/ +$/, r.version === '' ? '' : ' ') + CRLF;
    if (r.host) head += `Host: h.test${CRLF}`;
    for (const [n, sep, v] of r.headers) head += `${n}${sep}${v}${CRLF}`;
    let body = '';
    if (r.framing === 'length' || r.framing === 'both') head += `Content-Length: ${r.body.length}${CRLF}`;
    if (r.framing === 'chunked' || r.framing === 'both') {
      head += `Transfer-Encoding: chunked${CRLF}`;
      let rest = r.body;
      for (const [n, ext] of r.chunks) {
        const part = rest.slice(0, Math.max(1, n));
        rest = rest.slice(part.length);
        if (part.length === 0) break;
        const size =
          r.sizeStyle === 'HEX'
            ? part.length.toString(16).toUpperCase()
            : r.sizeStyle === 'padded'
              ? `00${part.length.toString(16)}`
              : r.sizeStyle === 'wrong'
                ? (part.length + 1).toString(16)
                : part.length.toString(16);
        body += `${size}${ext}${CRLF}${part}${CRLF}`;
      }
      body += `0${CRLF}${r.trailers}${CRLF}`;
    } else if (r.framing === 'length') body = r.body;
    return head + CRLF + body;
  });

/** Byte mutations: overwrite, insert, delete, and line-ending swaps at positions taken modulo the length. */
const mutation = fc.oneof(
  fc.tuple(
    fc.constant('set' as const),
    fc.nat(),
    fc.constantFrom(0x0a, 0x0d, 0x20, 0x09, 0x00, 0x3a, 0x30, 0x41, 0x7f, 0xff),
  ),
  fc.tuple(fc.constant('insert' as const), fc.nat(), fc.constantFrom(0x0a, 0x0d, 0x20, 0x09, 0x3a, 0x30)),
  fc.tuple(fc.constant('delete' as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant('bare-lf' as const), fc.nat(), fc.constant(0)),
);

function mutate(
  text: string,
  ops: readonly (readonly ['set' | 'insert' | 'delete' | 'bare-lf', number, number])[],
): Buffer {
  const bytes = [...Buffer.from(text, 'latin1')];
  for (const [op, at, v] of ops) {
    if (bytes.length === 0) break;
    const i = at % bytes.length;
    if (op === 'set') bytes[i] = v;
    else if (op === 'insert') bytes.splice(i, 0, v);
    else if (op === 'delete') bytes.splice(i, 1);
    else {
      const cr = bytes.indexOf(0x0d, i);
      if (cr >= 0 && bytes[cr + 1] === 0x0a) bytes.splice(cr, 1);
    }
  }
  return Buffer.from(bytes);
}

/** One to three pipelined requests, then at most a few byte mutations anywhere. */
export const connectionBytes: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.array(request, { minLength: 1, maxLength: 3 }),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 2, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }) },
    ),
  )
  .map(([reqs, ops]) => mutate(reqs.join(''), ops));
