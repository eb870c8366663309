/**
 * L4 throughput: TCP relay MiB/s and UDP packets/s through berth's L4 path (dispatch + relay,
 * UDP entrypoint sessions) against the same peers reached directly. Everything on loopback, in
 * one process for the proxy and one for the peers' event loop. Run: `node bench/l4.ts`.
 */
import { createSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { pino } from 'pino';
import { buildTcpRouting } from '../src/tcp/build.ts';
import { dispatchConnection } from '../src/tcp/dispatch.ts';
import { buildUdpRouting } from '../src/udp/build.ts';
import { UdpEntrypoint } from '../src/udp/entrypoint.ts';

const logger = pino({ level: 'silent' });
const TCP_BYTES = Number(process.env.L4_TCP_MIB ?? 512) * 1024 * 1024;
const UDP_PACKETS = Number(process.env.L4_UDP_PACKETS ?? 100_000);

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Sends TCP_BYTES to `port` and waits until the sink has counted them all. */
async function tcpRun(port: number, sinkDone: () => Promise<void>): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const start = performance.now();
  const s = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => s.once('connect', r));
  let sent = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < TCP_BYTES) {
        sent += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      resolve();
    };
    pump();
  });
  await sinkDone();
  s.destroy();
  return TCP_BYTES / 1024 / 1024 / ((performance.now() - start) / 1000);
}

async function tcpBench(): Promise<{ direct: number; berth: number }> {
  let received = 0;
  let waiter: (() => void) | undefined;
  const sink = createServer((s) =>
    s
      .on('data', (d: Buffer) => {
        received += d.length;
        if (received >= TCP_BYTES) waiter?.();
      })
      .on('error', () => undefined),
  );
  const sinkPort = await listen(sink);
  const done = (): Promise<void> =>
    new Promise((r) => {
      if (received >= TCP_BYTES) r();
      else waiter = r;
    });
  const built = buildTcpRouting(
    {
      tcp: {
        routers: { 'bench@file': { rule: 'HostSNI(`*`)', service: 'sink@file' } },
        services: { 'sink@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${sinkPort}` }] } } },
      },
    },
    { bench: { address: '127.0.0.1:0', host: '127.0.0.1', port: 0, protocol: 'tcp' } },
    { logger },
  );
  const routing = built.routing.get('bench');
  const ep = createServer({ allowHalfOpen: true }, (s) =>
    dispatchConnection(
      s,
      routing,
      { http: (x) => x.destroy(), https: (x) => x.destroy() },
      { peekTimeoutMs: 10_000, maxHelloBytes: 16384 },
    ),
  );
  const epPort = await listen(ep);
  received = 0;
  const direct = await tcpRun(sinkPort, done);
  received = 0;
  const berth = await tcpRun(epPort, done);
  ep.close();
  sink.close();
  return { direct, berth };
}

/** Sends UDP_PACKETS in windows of 64 outstanding and counts echoes per second. */
async function udpRun(port: number): Promise<number> {
  const c = createSocket('udp4');
  await new Promise<void>((r) => c.bind(0, '127.0.0.1', r));
  const payload = Buffer.alloc(64, 0x62);
  let got = 0;
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let idle: NodeJS.Timeout | undefined;
    const kick = (): void => {
      clearTimeout(idle);
      // Lost packets must not stall the run: refill the window after a short silence.
      idle = setTimeout(() => {
        inFlight = 0;
        fill();
      }, 50);
    };
    let inFlight = 0;
    const fill = (): void => {
      while (inFlight < 64 && sent < UDP_PACKETS) {
        c.send(payload, port, '127.0.0.1');
        sent++;
        inFlight++;
      }
      if (sent >= UDP_PACKETS && inFlight === 0) {
        clearTimeout(idle);
        resolve();
        return;
      }
      kick();
    };
    c.on('message', () => {
      got++;
      inFlight = Math.max(0, inFlight - 1);
      fill();
    });
    fill();
  });
  c.close();
  return got / ((performance.now() - start) / 1000);
}

async function udpBench(): Promise<{ direct: number; berth: number }> {
  const echo = createSocket('udp4');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  const echoPort = echo.address().port;
  const cfg = { address: '127.0.0.1:0/udp', host: '127.0.0.1', port: 0, protocol: 'udp' as const };
  const built = buildUdpRouting(
    {
      udp: {
        routers: { 'bench@file': { entryPoints: ['u'], service: 'echo@file' } },
        services: { 'echo@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${echoPort}` }] } } },
      },
    },
    { u: cfg },
    { logger },
  );
  const routing = built.routing.get('u');
  const ep = new UdpEntrypoint('u', cfg, () => routing, { logger });
  await ep.start();
  const direct = await udpRun(echoPort);
  const berth = await udpRun(ep.address().port);
  await ep.stop();
  echo.close();
  return { direct, berth };
}

const tcp = await tcpBench();
const udp = await udpBench();
const row = (name: string, unit: string, r: { direct: number; berth: number }): string =>
  `${name.padEnd(22)} ${r.direct.toFixed(0).padStart(10)} ${r.berth.toFixed(0).padStart(10)} ${((r.berth / r.direct) * 100).toFixed(0).padStart(6)}%  ${unit}`;
console.log(`${'scenario'.padEnd(22)} ${'direct'.padStart(10)} ${'berth'.padStart(10)} ${'ratio'.padStart(7)}`);
console.log(row(`TCP relay ${TCP_BYTES / 1048576} MiB`, 'MiB/s', tcp));
console.log(row(`UDP echo ${UDP_PACKETS} pkts`, 'packets/s', udp));
