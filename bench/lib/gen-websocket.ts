import { connect, type Socket } from 'node:net';
import { LatencyRecorder, type LoadResult, type LoadSpec } from './load.ts';
import { WsFrameReader, encodeFrame } from './ws-frames.ts';

/** Opens a WebSocket on `spec.path` and resolves once the 101 has arrived. */
function openWebSocket(spec: LoadSpec): Promise<{ socket: Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(spec.port, '127.0.0.1', () => {
      socket.setNoDelay(true);
      socket.write(
        `GET ${spec.path} HTTP/1.1\r\nHost: ${spec.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const status = buf.toString('latin1', 0, 12);
      if (!status.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`no upgrade: ${status}`));
        return;
      }
      resolve({ socket, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/**
 * WebSocket round trips: `connections` sockets each send a 64-byte text message and wait for its
 * echo before sending the next, for the duration. Rate is messages echoed per second.
 */
export async function runWebSocket(spec: LoadSpec): Promise<LoadResult> {
  const rec = new LatencyRecorder();
  const frame = encodeFrame(0x1, Buffer.alloc(64, 'm'), true);
  let errors = 0;
  const sockets = await Promise.all(Array.from({ length: spec.connections }, () => openWebSocket(spec)));
  const start = performance.now();
  const deadline = start + spec.durationMs;
  await Promise.all(
    sockets.map(
      ({ socket }) =>
        new Promise<void>((resolve) => {
          const reader = new WsFrameReader();
          let sentAt = performance.now();
          socket.on('data', (d: Buffer) => {
            for (const f of reader.push(d)) {
              if (f.opcode !== 0x1) continue;
              const now = performance.now();
              rec.add(now - sentAt);
              if (now >= deadline) {
                socket.end(encodeFrame(0x8, Buffer.alloc(0), true));
                socket.destroy();
                resolve();
                return;
              }
              sentAt = now;
              socket.write(frame);
            }
          });
          socket.once('error', () => {
            errors++;
            resolve();
          });
          socket.once('close', () => resolve());
          socket.write(frame);
        }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  return {
    generator: 'node-ws',
    connections: spec.connections,
    durationS: seconds,
    rps: rec.count / seconds,
    ...rec.summary(),
    mibps: undefined,
    errors,
    non2xx: 0,
  };
}
