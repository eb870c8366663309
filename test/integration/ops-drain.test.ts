import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { get } from '../ops/fixtures.ts';
import { withTimeout } from '../helpers/with-timeout.ts';

/** Opens a WebSocket through berth with a raw socket; resolves once the 101 arrived. */
function openWebSocket(
  port: number,
): Promise<{ socket: Socket; received: Buffer[]; ended: Promise<{ error?: string }> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let upgraded = false;
    const ended = new Promise<{ error?: string }>((r) => {
      let error: string | undefined;
      socket.on('error', (e: NodeJS.ErrnoException) => {
        error = e.code ?? e.message;
      });
      socket.on('close', () => r(error === undefined ? {} : { error }));
    });
    socket.on('data', (b: Buffer) => {
      if (!upgraded) {
        if (!b.toString('latin1').startsWith('HTTP/1.1 101')) {
          reject(new Error(`no upgrade: ${b.toString('latin1').slice(0, 80)}`));
          return;
        }
        upgraded = true;
        resolve({ socket, received, ended });
        return;
      }
      received.push(b);
    });
    socket.once('connect', () =>
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: ops.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    socket.once('error', reject);
  });
}

describe('graceful drain on SIGTERM', () => {
  let upstream: Upstream;
  let berth: BerthProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'berth-drain-'));
  let slowSeen = 0;
  before(async () => {
    upstream = await startUpstream(
      (req, res) => {
        if (req.url === '/slow') {
          slowSeen++;
          setTimeout(() => res.end('slow done'), 1500);
          return;
        }
        res.end('fast');
      },
      { wsEcho: true },
    );
  });
  after(async () => {
    berth?.kill();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('in-flight requests complete, new connections are refused, WebSockets close at the grace deadline, exit code 0', async () => {
    const web = await freePort();
    writeFileSync(
      join(dir, 'dynamic.yaml'),
      stringify({
        http: {
          routers: { all: { rule: 'PathPrefix(`/`)', entryPoints: ['web'], service: 'up' } },
          services: { up: { loadBalancer: { servers: [{ url: upstream.url }] } } },
        },
      }),
    );
    berth = await startBerth({
      dir,
      config: {
        entryPoints: { web: { address: `127.0.0.1:${web}`, transport: { lifeCycle: { graceTimeOut: '3s' } } } },
        providers: { file: { filename: join(dir, 'dynamic.yaml'), watch: false } },
      },
    });
    await waitUntil(async () => (await get(web)).status === 200, 'the route', 10_000);

    const ws = await openWebSocket(web);
    // An idle keep-alive connection: it must be closed at once, not at the deadline.
    const idle = connect(web, '127.0.0.1');
    const idleClosed = new Promise<number>((r) => idle.once('close', () => r(Date.now())));
    idle.on('error', () => undefined);
    await withTimeout(new Promise<void>((r) => idle.once('connect', () => r())), 30_000, '`idle` to connect');
    idle.write('GET / HTTP/1.1\r\nHost: ops.test\r\n\r\n');
    await withTimeout(new Promise<void>((r) => idle.once('data', () => r())), 30_000, '`idle` to receive data');

    const slow = [get(web, '/slow'), get(web, '/slow'), get(web, '/slow')];
    await waitUntil(() => slowSeen === 3, 'the slow requests to reach the upstream');
    const signalled = Date.now();
    const code = berth.stop('SIGTERM');

    const results = await Promise.all(slow);
    assert.deepEqual(results, Array(3).fill({ status: 200, body: 'slow done' }), 'in-flight requests complete');
    await assert.rejects(
      get(web),
      (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
      'no new connection is accepted while draining',
    );
    const idleAt = await idleClosed;
    const wsEnd = await ws.ended;
    const wsAt = Date.now();
    assert.equal(await code, 0, berth.logs.join('\n'));
    assert.equal(wsEnd.error, undefined, 'the WebSocket is closed, not reset');
    const frames = Buffer.concat(ws.received);
    const closeFrame = frames.length >= 2 && frames[0] === 0x88;
    assert.ok(idleAt - signalled < wsAt - signalled, 'the idle keep-alive connection closes before the WebSocket');
    assert.ok(
      results.length === 3 && idleAt <= wsAt,
      'the WebSocket stays open past the in-flight requests, until the deadline',
    );
    // Informational: whether berth sent a WebSocket close frame (1001 going away) before closing.
    process.stdout.write(`# websocket closed after ${wsAt - signalled} ms (grace 3 s), close frame: ${closeFrame}\n`);
  });
});
