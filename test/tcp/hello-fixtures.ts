import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { withTimeout } from '../helpers/with-timeout.ts';

/**
 * Captures the first TLS record a real node:tls client sends (its ClientHello) with the given SNI
 * and ALPN, by listening on loopback with a plain TCP server that never answers.
 */
export async function captureClientHello(opts: { servername?: string; alpn?: string[] }): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const got = new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (sock: Socket) => {
        let buf = Buffer.alloc(0);
        sock.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 5) {
            const len = buf.readUInt16BE(3);
            if (buf.length >= 5 + len) {
              sock.destroy();
              resolve(buf.subarray(0, 5 + len));
            }
          }
        });
        sock.on('error', reject);
      });
    });
    const client = tlsConnect({
      host: '127.0.0.1',
      port,
      ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
      ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}),
      rejectUnauthorized: false,
    });
    client.on('error', () => undefined);
    const hello = await withTimeout(got, 15_000, `a ClientHello on ${port}`);
    client.destroy();
    return hello;
  } finally {
    server.close();
  }
}

/** Re-packs the handshake bytes of a one-record hello into records of the given sizes (cycled). */
export function resplitRecords(hello: Buffer, sizes: readonly number[]): Buffer {
  const version = hello.subarray(1, 3);
  const body = hello.subarray(5);
  const out: Buffer[] = [];
  let p = 0;
  let i = 0;
  while (p < body.length) {
    const n = Math.max(1, Math.min(sizes.length ? sizes[i++ % sizes.length]! : body.length, body.length - p));
    const header = Buffer.from([0x16, version[0]!, version[1]!, n >> 8, n & 0xff]);
    out.push(header, body.subarray(p, p + n));
    p += n;
  }
  return Buffer.concat(out);
}

/** Splits bytes into consecutive chunks at the given cut points. */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of points) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}
