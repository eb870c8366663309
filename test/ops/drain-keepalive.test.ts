import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { get } from './fixtures.ts';

/** A raw keep-alive connection: each answer's head, and how the connection ended. */
function keepAlive(port: number): {
  socket: Socket;
  heads: string[];
  onAnswer: (f: () => void) => void;
  ended: Promise<{ error?: string }>;
} {
  const socket = connect(port, '127.0.0.1');
  const heads: string[] = [];
  let listener: (() => void) | undefined;
  let buf = '';
  socket.on('data', (b: Buffer) => {
    buf += b.toString('latin1');
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      buf = buf.slice(end + 4 + len);
      heads.push(head);
      listener?.();
    }
  });
  const ended = new Promise<{ error?: string }>((r) => {
    let error: string | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => r(error === undefined ? {} : { error }));
  });
  return {
    socket,
    heads,
    onAnswer: (f) => {
      listener = f;
    },
    ended,
  };
}

const REQUEST = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: ops.test\r\n\r\n`;

describe('drain and keep-alive clients', () => {
  let upstream: Upstream;
  let berth: BerthProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'berth-drain-ka-'));
  let slowSeen = 0;
  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url === '/slow') {
        slowSeen++;
        setTimeout(() => res.end('slow'), 500);
        return;
      }
      res.end('ok');
    });
  });
  after(async () => {
    berth?.kill();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an answer in flight at SIGTERM says Connection: close, and a request sent right after it ends the connection cleanly, never with a reset', async () => {
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
        entryPoints: { web: { address: `127.0.0.1:${web}`, transport: { lifeCycle: { graceTimeOut: '5s' } } } },
        providers: { file: { filename: join(dir, 'dynamic.yaml'), watch: false } },
      },
    });
    await waitUntil(async () => (await get(web)).status === 200, 'the route', 10_000);

    // A client that, like a load generator, ignores Connection: close and sends its next request
    // the moment an answer arrives.
    const busy = keepAlive(web);
    busy.onAnswer(() => {
      if (busy.socket.writable) busy.socket.write(REQUEST('/'));
    });
    busy.socket.write(REQUEST('/slow'));
    await waitUntil(() => slowSeen === 1, 'the slow request to reach the upstream');
    const code = berth.stop('SIGTERM');

    assert.deepEqual(await busy.ended, {}, 'closed with a FIN, not reset');
    assert.match(busy.heads[0] ?? '', /^HTTP\/1\.1 200/);
    assert.match(busy.heads.at(-1) ?? '', /\r\nconnection: close/i, 'the last answer closes the connection');
    assert.equal(await code, 0, berth.logs.join('\n'));
  });

  test('an HTTP/2 client gets GOAWAY at SIGTERM, its stream in flight completes, and the session closes cleanly', async () => {
    const websecure = await freePort();
    const before = slowSeen;
    writeFileSync(
      join(dir, 'dynamic.yaml'),
      stringify({
        http: {
          routers: { all: { rule: 'PathPrefix(`/`)', entryPoints: ['websecure'], service: 'up', tls: {} } },
          services: { up: { loadBalancer: { servers: [{ url: upstream.url }] } } },
        },
      }),
    );
    berth = await startBerth({
      dir,
      config: {
        entryPoints: {
          websecure: { address: `127.0.0.1:${websecure}`, transport: { lifeCycle: { graceTimeOut: '30s' } } },
        },
        providers: { file: { filename: join(dir, 'dynamic.yaml'), watch: false } },
      },
    });
    const session = http2.connect(`https://127.0.0.1:${websecure}`, {
      rejectUnauthorized: false,
      servername: 'ops.test',
    });
    const events: string[] = [];
    session.on('goaway', () => events.push('goaway'));
    const closed = new Promise<{ error?: string }>((r) => {
      let error: string | undefined;
      session.on('error', (e: NodeJS.ErrnoException) => {
        error = e.code ?? e.message;
      });
      session.on('close', () => r(error === undefined ? {} : { error }));
    });
    const ask = (path: string): Promise<{ status: number; body: string; error?: string }> =>
      new Promise((resolve) => {
        const stream = session.request({ ':path': path, ':authority': 'ops.test' });
        let status = 0;
        let body = '';
        stream.on('response', (h) => {
          status = Number(h[':status']);
        });
        stream.on('data', (d: Buffer) => {
          body += d.toString();
        });
        stream.on('end', () => {
          events.push(`answer ${path}`);
          resolve({ status, body });
        });
        stream.on('error', (e: NodeJS.ErrnoException) => resolve({ status, body, error: e.code ?? e.message }));
      });
    await waitUntil(async () => (await ask('/')).status === 200, 'the route over HTTP/2', 10_000);
    const slow = ask('/slow');
    await waitUntil(() => slowSeen === before + 1, 'the slow request to reach the upstream');
    const code = berth.stop('SIGTERM');

    assert.deepEqual(await slow, { status: 200, body: 'slow' });
    assert.deepEqual(await closed, {}, 'the session ends without an error');
    assert.deepEqual(
      events.slice(-2),
      ['goaway', 'answer /slow'],
      'GOAWAY arrives while the stream is still in flight',
    );
    assert.equal(await code, 0, berth.logs.join('\n'));
  });
});
