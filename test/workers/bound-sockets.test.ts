import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { assignSockets, bindReusePort } from '../../src/workers/bound-sockets.ts';
import { freePort } from '../helpers/net.ts';

describe('assignSockets', () => {
  const cases: { desc: string; fds: number[]; workers: number; want: number[][] }[] = [
    { desc: 'one socket per worker', fds: [10, 11], workers: 2, want: [[10], [11]] },
    { desc: 'one socket (systemd) is shared by every worker', fds: [3], workers: 3, want: [[3], [3], [3]] },
    { desc: 'more sockets than workers: each socket keeps an acceptor', fds: [3, 4, 5], workers: 2, want: [[3, 5], [4]] },
    { desc: 'fewer sockets than workers: the extra workers share', fds: [3, 4], workers: 3, want: [[3], [4], [3]] },
    { desc: 'no socket: workers bind their own', fds: [], workers: 2, want: [[], []] },
  ];
  for (const c of cases) test(c.desc, () => assert.deepEqual(assignSockets(c.fds, c.workers), c.want));
});

describe('bindReusePort', () => {
  test('binds without listening; a server adopting the descriptor accepts on it', async () => {
    const port = await freePort();
    const bound = await bindReusePort('127.0.0.1', port);
    try {
      await assert.rejects(new Promise((resolve, reject) => connect(port, '127.0.0.1').once('connect', resolve).once('error', reject)), /ECONNREFUSED/);
      const server = createServer((s) => s.end('hi'));
      await new Promise<void>((r) => server.listen({ fd: bound.fd }, r));
      const got = await new Promise<string>((resolve, reject) => {
        let text = '';
        connect(port, '127.0.0.1').on('data', (b) => { text += b.toString(); }).once('end', () => resolve(text)).once('error', reject);
      });
      assert.equal(got, 'hi');
      await new Promise<void>((r) => server.close(() => r()));
    } finally {
      bound.close();
    }
  });

  test('a second socket on the same port joins it (SO_REUSEPORT)', async () => {
    const port = await freePort();
    const a = await bindReusePort('127.0.0.1', port);
    const b = await bindReusePort('127.0.0.1', port);
    const servers = [createServer((s) => s.end()), createServer((s) => s.end())];
    try {
      await new Promise<void>((r) => servers[0]!.listen({ fd: a.fd }, r));
      await new Promise<void>((resolve, reject) => { servers[1]!.once('error', reject); servers[1]!.listen({ fd: b.fd }, resolve); });
    } finally {
      for (const s of servers) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
      a.close();
      b.close();
    }
  });
});
