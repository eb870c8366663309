/**
 * The bench's Node upstream, run as its own process: the WebSocket echo endpoint (`/ws`) for the
 * WebSocket scenario, and the HTTP bodies of bodies.ts when nginx is not installed. Prints
 * `{"port":N}` on stdout once listening.
 *
 *   node bench/lib/upstream-server.ts
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BODIES } from './bodies.ts';
import { WsFrameReader, encodeFrame } from './ws-frames.ts';

const server = createServer((req, res) => {
  const body = BODIES.get(req.url ?? '/');
  if (body === undefined) {
    res.writeHead(404, { 'content-length': '0' }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
});
server.keepAliveTimeout = 300_000;
server.headersTimeout = 310_000;
server.maxRequestsPerSocket = 0;

server.on('upgrade', (req, socket: Socket) => {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.setNoDelay(true);
  const reader = new WsFrameReader();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of reader.push(chunk)) {
      if (frame.opcode === 0x8) {
        socket.end(encodeFrame(0x8, Buffer.alloc(0), false));
        return;
      }
      if (frame.opcode === 0x1 || frame.opcode === 0x2) socket.write(encodeFrame(frame.opcode, frame.payload, false));
    }
  });
  socket.on('error', () => undefined);
});

server.listen(0, '127.0.0.1', 4096, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
