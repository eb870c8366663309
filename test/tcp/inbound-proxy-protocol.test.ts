import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { clientAddressOf, clientPortOf, declaredEndpointsOf } from '../../src/tcp/client-address.ts';
import { inboundProxyProtocol } from '../../src/tcp/inbound-proxy-protocol.ts';
import { proxyProtocolHeader } from '../../src/tcp/proxy-protocol.ts';
import { closeAll, listen, track } from './harness.ts';

/** What the code after the PROXY stage saw of one connection. */
interface Seen {
  readonly address: string | undefined;
  readonly port: number | undefined;
  readonly declared: boolean;
  readonly data: string;
}

/**
 * A listener that runs the PROXY stage with `cfg`, then records the client address and every byte
 * that follows (until the client ends) and answers "ok". `closedEarly` settles when a connection
 * closes without having passed the stage.
 */
async function stage(
  cfg: { trustedIPs?: string[]; insecure?: boolean },
  timeoutMs = 5000,
): Promise<{ server: Server; port: number; seen: Seen[]; closedEarly: Promise<void> }> {
  const inbound = inboundProxyProtocol(cfg, { timeoutMs })!;
  const seen: Seen[] = [];
  let closedEarly!: () => void;
  const early = new Promise<void>((r) => {
    closedEarly = r;
  });
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    let passed = false;
    socket.once('close', () => {
      if (!passed) closedEarly();
    });
    inbound.accept(socket, (s: Socket) => {
      passed = true;
      let data = '';
      s.on('data', (d: Buffer) => {
        data += d.toString('latin1');
      });
      s.on('end', () => {
        seen.push({
          address: clientAddressOf(s),
          port: clientPortOf(s),
          declared: declaredEndpointsOf(s) !== undefined,
          data,
        });
        s.end('ok');
      });
    });
  });
  track(server);
  return { server, port: await listen(server), seen, closedEarly: early };
}

/** Connects from `localAddress`, writes `chunks` one by one (each after the previous was flushed), ends, resolves with the answer. */
function send(
  port: number,
  chunks: (string | Buffer)[],
  localAddress = '127.0.0.1',
): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true, noDelay: true });
    let answer = '';
    s.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve({ answer, closed: answer === '' }));
    s.on('connect', async () => {
      for (const c of chunks) await new Promise<void>((r) => s.write(c, () => r()));
      s.end();
    });
  });
}

const V1 = proxyProtocolHeader(1, { srcIp: '203.0.113.7', srcPort: 51000, dstIp: '192.0.2.1', dstPort: 443 });
const V2 = proxyProtocolHeader(2, { srcIp: '203.0.113.7', srcPort: 51000, dstIp: '192.0.2.1', dstPort: 443 });
const V2_SIX = proxyProtocolHeader(2, { srcIp: '2001:db8::7', srcPort: 51000, dstIp: '2001:db8::1', dstPort: 443 });

describe('inbound PROXY protocol on real sockets', () => {
  const servers: Server[] = [];
  after(() => closeAll(...servers));

  const cases: { desc: string; chunks: (string | Buffer)[]; address: string; port?: number; data: string }[] = [
    {
      desc: 'v1 TCP4',
      chunks: [Buffer.concat([V1, Buffer.from('GET / HTTP/1.1\r\n\r\n')])],
      address: '203.0.113.7',
      port: 51000,
      data: 'GET / HTTP/1.1\r\n\r\n',
    },
    { desc: 'v2 TCP4', chunks: [V2, 'hello'], address: '203.0.113.7', port: 51000, data: 'hello' },
    { desc: 'v2 TCP6', chunks: [V2_SIX, 'hello'], address: '2001:db8::7', port: 51000, data: 'hello' },
    {
      desc: 'v2 header in one-byte segments, data in the same segment as its last byte',
      chunks: [
        ...[...V2.subarray(0, V2.length - 1)].map((b) => Buffer.from([b])),
        Buffer.concat([V2.subarray(V2.length - 1), Buffer.from('hello')]),
      ],
      address: '203.0.113.7',
      data: 'hello',
    },
    {
      desc: 'v2 LOCAL keeps the peer',
      chunks: [
        proxyProtocolHeader(2, { srcIp: undefined, srcPort: undefined, dstIp: undefined, dstPort: undefined }),
        'hello',
      ],
      address: '127.0.0.1',
      data: 'hello',
    },
    {
      desc: 'no header from a trusted peer: bytes unchanged',
      chunks: ['PUT / HTTP/1.1\r\n\r\n'],
      address: '127.0.0.1',
      data: 'PUT / HTTP/1.1\r\n\r\n',
    },
  ];
  for (const c of cases) {
    test(`trusted peer, ${c.desc}`, async () => {
      const st = await stage({ trustedIPs: ['127.0.0.1/32'] });
      servers.push(st.server);
      const res = await send(st.port, c.chunks);
      assert.equal(res.answer, 'ok');
      assert.equal(st.seen.length, 1);
      assert.equal(st.seen[0]!.address, c.address);
      if (c.port !== undefined) assert.equal(st.seen[0]!.port, c.port);
      assert.equal(st.seen[0]!.data, c.data);
    });
  }

  test('insecure: every peer is believed', async () => {
    const st = await stage({ insecure: true });
    servers.push(st.server);
    await send(st.port, [V1, 'x'], '127.0.0.2');
    assert.equal(st.seen[0]!.address, '203.0.113.7');
  });

  test("an untrusted peer's header is data: never read, never an address", async () => {
    const st = await stage({ trustedIPs: ['127.0.0.1'] });
    servers.push(st.server);
    const res = await send(st.port, [V1, 'x'], '127.0.0.2');
    assert.equal(res.answer, 'ok');
    assert.equal(st.seen[0]!.address, '127.0.0.2');
    assert.equal(st.seen[0]!.declared, false);
    assert.equal(st.seen[0]!.data, V1.toString('latin1') + 'x');
  });

  test('proxyProtocol without trustedIPs trusts nobody', async () => {
    const st = await stage({});
    servers.push(st.server);
    await send(st.port, [V2, 'x']);
    assert.equal(st.seen[0]!.address, '127.0.0.1');
  });

  const broken: { desc: string; chunks: (string | Buffer)[] }[] = [
    { desc: 'garbage after the v1 signature', chunks: ['PROXY GARBAGE\r\nGET / HTTP/1.1\r\n\r\n'] },
    {
      desc: 'garbage after the v2 signature',
      chunks: [Buffer.concat([V2.subarray(0, 12), Buffer.from('garbage-garbage-garbage')])],
    },
    { desc: "a v1 header truncated by the client's end", chunks: [V1.subarray(0, 20)] },
    { desc: "a v2 header truncated by the client's end", chunks: [V2.subarray(0, V2.length - 3)] },
    {
      desc: 'a v2 header with an unknown command',
      chunks: [Buffer.concat([V2.subarray(0, 12), Buffer.from([0x2f]), V2.subarray(13)])],
    },
  ];
  for (const b of broken) {
    test(`trusted peer, ${b.desc}: that connection is closed, the next one is served`, async () => {
      const st = await stage({ trustedIPs: ['127.0.0.1'] });
      servers.push(st.server);
      const res = await send(st.port, b.chunks);
      assert.equal(res.closed, true);
      assert.equal(st.seen.length, 0);
      await st.closedEarly; // before the next stage ran
      assert.equal((await send(st.port, [V1, 'x'])).answer, 'ok');
    });
  }

  test('a trusted peer that stays silent is closed after the timeout; others are served meanwhile', async () => {
    const st = await stage({ trustedIPs: ['127.0.0.1'] }, 300);
    servers.push(st.server);
    const silent = new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: st.port });
      s.on('error', () => undefined);
      s.on('connect', () => s.write(V1.subarray(0, 10)));
      s.on('close', () => resolve());
    });
    assert.equal((await send(st.port, [V1, 'x'])).answer, 'ok');
    await silent;
    await st.closedEarly;
    assert.equal(st.seen.length, 1);
  });
});
