import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { DynamicConfig, Middleware } from '../../src/config/dynamic/types.ts';
import type { EntryPointConfig } from '../../src/config/static/types.ts';
import { buildTcpRouting } from '../../src/tcp/build.ts';
import { inFlightCount } from '../../src/tcp/in-flight-conn.ts';
import { l4Counters } from '../../src/tcp/l4-counters.ts';
import { buildTcpMiddlewares } from '../../src/tcp/middlewares.ts';
import { closeAll, listen, recordingHandoff, selfSigned, silentLogger, startEntrypoint, track } from './harness.ts';

describe('TCP middleware options', () => {
  // Raw options as a label or file may carry them, before the schema has had its say.
  const cases: { desc: string; def: Record<string, unknown>; error?: RegExp }[] = [
    { desc: 'ipAllowList with a list', def: { ipAllowList: { sourceRange: ['127.0.0.1/32', '::1'] } } },
    {
      desc: 'ipAllowList from a label (comma-separated)',
      def: { ipAllowList: { sourceRange: '10.0.0.0/8, 192.168.1.7' } },
    },
    { desc: 'the deprecated ipWhiteList', def: { ipWhiteList: { sourceRange: ['10.0.0.0/8'] } } },
    { desc: 'inFlightConn', def: { inFlightConn: { amount: 3 } } },
    { desc: 'inFlightConn from a label', def: { inFlightConn: { amount: '3' } } },
    { desc: 'ipAllowList without sourceRange', def: { ipAllowList: {} }, error: /sourceRange: at least one/ },
    {
      desc: 'ipAllowList with an empty sourceRange',
      def: { ipAllowList: { sourceRange: [] } },
      error: /sourceRange: at least one/,
    },
    {
      desc: 'ipAllowList with an invalid range',
      def: { ipAllowList: { sourceRange: ['10.0.0.0/33'] } },
      error: /invalid address or range "10.0.0.0\/33"/,
    },
    {
      desc: 'ipAllowList with ipStrategy (HTTP only)',
      def: { ipAllowList: { sourceRange: ['10.0.0.0/8'], ipStrategy: { depth: 1 } } },
      error: /ipStrategy: unknown option \(Traefik's TCP ipAllowList has only sourceRange/,
    },
    { desc: 'inFlightConn without amount', def: { inFlightConn: {} }, error: /amount: expected a whole number/ },
    {
      desc: 'inFlightConn with amount 0',
      def: { inFlightConn: { amount: 0 } },
      error: /amount: expected a whole number/,
    },
    {
      desc: 'inFlightConn with a fraction',
      def: { inFlightConn: { amount: 1.5 } },
      error: /amount: expected a whole number/,
    },
    {
      desc: 'an HTTP middleware type',
      def: { rateLimit: { average: 1 } },
      error: /unknown TCP middleware type "rateLimit" \(TCP middlewares: ipAllowList, ipWhiteList, inFlightConn\)/,
    },
    {
      desc: 'two types',
      def: { ipAllowList: { sourceRange: ['::1'] }, inFlightConn: { amount: 1 } },
      error: /exactly one type/,
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = buildTcpMiddlewares({ 'm@file': c.def as Middleware }).get('m@file')!;
      if (c.error) assert.match(r.ok ? 'built' : r.error, c.error);
      else assert.equal(r.ok, true, r.ok ? '' : r.error);
    });
  }
});

describe('TCP routers and their middlewares', () => {
  const eps: Record<string, EntryPointConfig> = {
    ep: { address: '127.0.0.1:0', host: '127.0.0.1', port: 0, protocol: 'tcp' },
  };
  const build = (middlewares: Record<string, Middleware>, refs: string[]) =>
    buildTcpRouting(
      {
        tcp: {
          routers: { 'db@file': { rule: 'HostSNI(`*`)', service: 'db@file', middlewares: refs } },
          services: { 'db@file': { loadBalancer: { servers: [{ address: '127.0.0.1:1' }] } } },
          middlewares,
        },
      },
      eps,
      { logger: silentLogger },
    );

  test('a chain across providers applies in order', () => {
    const r = build(
      { 'a@file': { ipAllowList: { sourceRange: ['127.0.0.1'] } }, 'b@docker': { inFlightConn: { amount: 2 } } },
      ['a@file', 'b@docker'],
    );
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.routing.get('ep')!.routers[0]!.middlewares.map((m) => m.name),
      ['a@file', 'b@docker'],
    );
  });
  const broken: {
    desc: string;
    middlewares: Record<string, Middleware>;
    refs: string[];
    router: RegExp;
    middleware?: RegExp;
  }[] = [
    {
      desc: 'an unknown middleware',
      middlewares: {},
      refs: ['nope@file'],
      router: /unknown TCP middleware "nope@file"/,
    },
    {
      desc: 'an unknown middleware type',
      middlewares: { 'x@file': { chain: { middlewares: ['a'] } } },
      refs: ['x@file'],
      router: /TCP middleware "x@file" is invalid: unknown TCP middleware type "chain"/,
      middleware: /unknown TCP middleware type "chain"/,
    },
    {
      desc: 'a broken middleware',
      middlewares: { 'x@file': { inFlightConn: { amount: -1 } } },
      refs: ['x@file'],
      router: /TCP middleware "x@file" is invalid: inFlightConn.amount/,
      middleware: /inFlightConn.amount/,
    },
  ];
  for (const b of broken) {
    test(`${b.desc} disables the router with a diagnostic`, () => {
      const r = build(b.middlewares, b.refs);
      assert.equal(r.routing.get('ep'), undefined);
      const router = r.diagnostics.find((d) => d.element === 'tcp.routers.db@file');
      assert.match(router?.message ?? '', b.router);
      assert.equal(r.elements.find((e) => e.name === 'db@file' && e.kind === 'tcp-router')?.status, 'disabled');
      const mw = r.diagnostics.find((d) => d.element?.startsWith('tcp.middlewares.'));
      if (b.middleware) assert.match(mw?.message ?? '', b.middleware);
      else assert.equal(mw, undefined);
    });
  }
});

/** A TCP upstream that counts the connections it accepted and answers each line with "up:<line>". */
async function countingUpstream(): Promise<{ server: Server; port: number; accepted: () => number }> {
  let n = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    n++;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => s.write(`up:${d.toString()}`));
    s.on('end', () => s.end());
  });
  track(server);
  return { server, port: await listen(server), accepted: () => n };
}

/** Opens a connection and resolves once the first byte came back for `line`, or with null when closed first. */
function open(port: number, line: string): Promise<{ socket: Socket; answer: string | null }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.once('data', (d: Buffer) => resolve({ socket, answer: d.toString() }));
    socket.once('close', () => resolve({ socket, answer: null }));
    socket.on('connect', () => socket.write(line));
  });
}

function refusedCount(router: string, middleware: string): number {
  return l4Counters.exportState().tcpRefused.find(([r, m]) => r === router && m === middleware)?.[2] ?? 0;
}

describe('TCP middlewares on real connections', () => {
  const pair = selfSigned('db.example.com');
  const handoff = recordingHandoff(pair);
  const servers: Server[] = [];
  after(async () => {
    handoff.close();
    await closeAll(...servers);
  });

  async function entrypoint(
    middlewares: Record<string, Middleware>,
    upstreamPort: number,
    opts: { passthrough?: boolean } = {},
  ) {
    const config: DynamicConfig = {
      tcp: {
        routers: {
          'db@file': {
            rule: opts.passthrough ? 'HostSNI(`db.example.com`)' : 'HostSNI(`*`)',
            service: 'db@file',
            middlewares: Object.keys(middlewares),
            ...(opts.passthrough ? { tls: { passthrough: true } } : {}),
          },
        },
        services: { 'db@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${upstreamPort}` }] } } },
        middlewares,
      },
    };
    const ep = await startEntrypoint(config, { handoff });
    servers.push(ep.server);
    assert.deepEqual(ep.diagnostics, []);
    return ep;
  }

  test('ipAllowList: a client outside sourceRange never reaches the upstream', async () => {
    const up = await countingUpstream();
    servers.push(up.server);
    const ep = await entrypoint({ 'only99@file': { ipAllowList: { sourceRange: ['127.0.0.99/32'] } } }, up.port);
    const before = refusedCount('db@file', 'only99@file');
    const res = await open(ep.port, 'hello');
    assert.equal(res.answer, null);
    assert.equal(up.accepted(), 0);
    assert.equal(refusedCount('db@file', 'only99@file'), before + 1);
  });

  test('ipAllowList: a client inside sourceRange is relayed', async () => {
    const up = await countingUpstream();
    servers.push(up.server);
    const ep = await entrypoint({ 'local@file': { ipAllowList: { sourceRange: ['127.0.0.0/8'] } } }, up.port);
    const res = await open(ep.port, 'hello');
    assert.equal(res.answer, 'up:hello');
    res.socket.destroy();
  });

  test('ipAllowList on a TLS passthrough router: refused after the ClientHello, nothing forwarded', async () => {
    const up = await countingUpstream();
    servers.push(up.server);
    const ep = await entrypoint({ 'only99@file': { ipAllowList: { sourceRange: ['127.0.0.99'] } } }, up.port, {
      passthrough: true,
    });
    const closed = await new Promise<string>((resolve) => {
      const s = tlsConnect({
        host: '127.0.0.1',
        port: ep.port,
        servername: 'db.example.com',
        rejectUnauthorized: false,
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.on('secureConnect', () => resolve('handshake completed'));
    });
    assert.notEqual(closed, 'handshake completed');
    assert.equal(up.accepted(), 0);
  });

  test('inFlightConn 1: a second concurrent connection is closed, a third after the first closed is relayed', async () => {
    const up = await countingUpstream();
    servers.push(up.server);
    const ep = await entrypoint({ 'one@file': { inFlightConn: { amount: 1 } } }, up.port);
    // berth's side of each connection, in order (listed after the dispatcher took it).
    const accepted: Socket[] = [];
    ep.server.on('connection', (s: Socket) => accepted.push(s));
    const first = await open(ep.port, 'one');
    assert.equal(first.answer, 'up:one');
    const second = await open(ep.port, 'two');
    assert.equal(second.answer, null);
    assert.equal(up.accepted(), 1);
    // The slot is given back when berth's side of the first connection has closed.
    const released = new Promise((r) => accepted[0]!.once('close', r));
    first.socket.destroy();
    await released;
    assert.equal(inFlightCount('one@file', '127.0.0.1'), 0);
    const third = await open(ep.port, 'three');
    assert.equal(third.answer, 'up:three');
    assert.equal(inFlightCount('one@file', '127.0.0.1'), 1);
    assert.equal(up.accepted(), 2);
    third.socket.destroy();
  });
});
