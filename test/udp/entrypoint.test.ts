import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { l4Counters } from '../../src/tcp/l4-counters.ts';
import { freeDualPort, freePort, waitUntil } from '../helpers/net.ts';
import { challtestsrvDnsArgs } from '../helpers/pebble.ts';
import { needTools } from '../helpers/tools.ts';
import { ask, startUdp, udpServer } from './udp-harness.ts';
import { withTimeout } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

const execFileP = promisify(execFile);

describe('UdpEntrypoint', () => {
  const sizes = [
    { desc: 'ordinary datagram', size: 100 },
    { desc: '0-byte datagram', size: 0 },
    { desc: 'largest IPv4 datagram (65507 bytes)', size: 65507 },
  ];
  for (const c of sizes) {
    test(`${c.desc} is relayed and the reply comes back`, async () => {
      const echo = await udpServer((m) => (m.length === 0 ? Buffer.from('empty') : m));
      const { ep, port } = await startUdp([echo.port]);
      try {
        const payload = Buffer.alloc(c.size, 0x61);
        const reply = await ask(port, payload);
        assert.ok(reply, 'a reply arrived');
        assert.deepEqual(reply, c.size === 0 ? Buffer.from('empty') : payload);
      } finally {
        await ep.stop();
        await echo.close();
      }
    });
  }

  test('one session per client: replies go to the right client, new sessions round-robin', async () => {
    const a = await udpServer((m) => Buffer.concat([Buffer.from('A:'), m]));
    const b = await udpServer((m) => Buffer.concat([Buffer.from('B:'), m]));
    const { ep, port } = await startUdp([a.port, b.port]);
    const c1 = createSocket('udp4');
    const c2 = createSocket('udp4');
    await Promise.all([c1, c2].map((c) => new Promise<void>((r) => c.bind(0, '127.0.0.1', r))));
    try {
      const r1 = await ask(port, Buffer.from('one'), 2000, c1);
      const r2 = await ask(port, Buffer.from('two'), 2000, c2);
      const r1b = await ask(port, Buffer.from('again'), 2000, c1);
      assert.equal(r1?.toString(), 'A:one');
      assert.equal(r2?.toString(), 'B:two');
      assert.equal(r1b?.toString(), 'A:again', 'a session keeps its server');
      assert.equal(ep.sessionCount, 2);
    } finally {
      c1.close();
      c2.close();
      await ep.stop();
      await a.close();
      await b.close();
    }
  });

  test('1,000 client ports: the table stays at its bound, idle sessions expire', async () => {
    const echo = await udpServer((m) => m);
    const { ep, port } = await startUdp([echo.port], { maxSessions: 100, idleTimeoutMs: 200 });
    try {
      let max = 0;
      for (let batch = 0; batch < 10; batch++) {
        const clients = await Promise.all(
          Array.from({ length: 100 }, async () => {
            const c = createSocket('udp4');
            await new Promise<void>((r) => c.bind(0, '127.0.0.1', r));
            return c;
          }),
        );
        await Promise.all(clients.map((c) => ask(port, Buffer.from('x'), 2000, c)));
        max = Math.max(max, ep.sessionCount);
        for (const c of clients) c.close();
      }
      assert.ok(max <= 100, `session table bounded (saw ${max})`);
      assert.ok(max > 0);
      await waitUntil(() => ep.sessionCount === 0, 'idle sessions to expire', 5000);
      // Still serving afterwards.
      assert.equal((await ask(port, Buffer.from('after')))?.toString(), 'after');
    } finally {
      await ep.stop();
      await echo.close();
    }
  });

  test('sessions evicted at the bound are counted, and logged once per interval', async () => {
    const echo = await udpServer((m) => m);
    const lines: { level: number; msg: string; reason?: string }[] = [];
    const logger = pino(
      { level: 'info' },
      {
        write: (l: string) => {
          lines.push(JSON.parse(l));
        },
      },
    );
    const { ep, port } = await startUdp([echo.port], {
      maxSessions: 10,
      idleTimeoutMs: 3_600_000,
      logger,
      dropLogIntervalMs: 3_600_000,
    });
    const evicted = (): number =>
      l4Counters.exportState().udpDropped.find(([e, r]) => e === 'udp-ep' && r === 'evicted')?.[2] ?? 0;
    const before = evicted();
    const clients = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const c = createSocket('udp4');
        await new Promise<void>((r) => c.bind(0, '127.0.0.1', r));
        return c;
      }),
    );
    try {
      // One after the other: each new client past the tenth evicts exactly one session.
      for (const c of clients) assert.equal((await ask(port, Buffer.from('q'), 5000, c))?.toString(), 'q');
      assert.equal(ep.sessionCount, 10);
      assert.equal(evicted() - before, 15);
      const drops = lines.filter((l) => l.reason === 'evicted');
      assert.equal(drops.length, 1, JSON.stringify(drops));
      assert.match(drops[0]!.msg, /session table of udp-ep is full \(10 sessions, limits.udpMaxSessions\)/);
    } finally {
      for (const c of clients) c.close();
      await ep.stop();
      await echo.close();
    }
  });

  test('an upstream that vanishes ends its sessions without a crash; a new one serves again', async () => {
    const echo = await udpServer((m) => m);
    const upPort = echo.port;
    const { ep, port } = await startUdp([upPort]);
    try {
      assert.equal((await ask(port, Buffer.from('1')))?.toString(), '1');
      await echo.close();
      const client = createSocket('udp4');
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
      // ICMP port unreachable comes back to the connected upstream socket: the session closes.
      await ask(port, Buffer.from('2'), 100, client);
      await ask(port, Buffer.from('3'), 100, client);
      await waitUntil(() => ep.sessionCount <= 1, 'the refused session to close', 3000);
      client.close();
      const again = await udpServer((m) => m, upPort);
      assert.equal((await ask(port, Buffer.from('4')))?.toString(), '4');
      await again.close();
    } finally {
      await ep.stop();
    }
  });

  test('without routing, datagrams are dropped', async () => {
    const { UdpEntrypoint } = await import('../../src/udp/entrypoint.ts');
    const { silentLogger } = await import('./udp-harness.ts');
    const ep = new UdpEntrypoint(
      'u',
      { address: '127.0.0.1:0/udp', host: '127.0.0.1', port: 0, protocol: 'udp' },
      () => undefined,
      { logger: silentLogger },
    );
    await ep.start();
    try {
      assert.equal(await ask(ep.address().port, Buffer.from('x'), 150), undefined);
      assert.equal(ep.sessionCount, 0);
    } finally {
      await ep.stop();
    }
  });

  test('dig through the UDP entrypoint to a real DNS server (pebble-challtestsrv)', async (t) => {
    if (!needTools(t, 'dig', 'pebble-challtestsrv')) return;
    const dnsPort = await freeDualPort();
    const mgmtPort = await freePort();
    const srv = trackChild(spawn('pebble-challtestsrv', challtestsrvDnsArgs(dnsPort, mgmtPort), { stdio: 'ignore' }));
    try {
      await waitUntil(
        async () => {
          const r = await ask(dnsPort, dnsQuery('probe.example.com'), 200);
          return r !== undefined;
        },
        'challtestsrv DNS',
        10_000,
        100,
      );
      const { ep, port } = await startUdp([dnsPort]);
      try {
        const { stdout } = await execFileP('dig', [
          '@127.0.0.1',
          '-p',
          String(port),
          '+short',
          '+tries=1',
          '+time=2',
          'db.example.com',
          'A',
        ]);
        assert.equal(stdout.trim(), '127.0.0.1');
      } finally {
        await ep.stop();
      }
    } finally {
      const exited = new Promise((r) => srv.once('exit', r));
      srv.kill('SIGTERM');
      await withTimeout(exited, 15_000, `challtestsrv (pid ${srv.pid}) to exit`);
    }
  });
});

/** A minimal DNS A query. */
function dnsQuery(name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([
    Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...labels,
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
}
