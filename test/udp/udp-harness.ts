import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { buildUdpRouting } from '../../src/udp/build.ts';
import { UdpEntrypoint, type UdpEntrypointOptions } from '../../src/udp/entrypoint.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import type { EntryPointConfig } from '../../src/config/static/types.ts';

export const silentLogger = pino({ level: 'silent' });

/** A UDP server on loopback answering every datagram through `reply` (undefined = no answer). */
export async function udpServer(
  reply: (msg: Buffer) => Buffer | undefined,
  port = 0,
): Promise<{ socket: DgramSocket; port: number; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, r) => {
    const out = reply(msg);
    if (out) socket.send(out, r.port, r.address);
  });
  await new Promise<void>((r) => socket.bind(port, '127.0.0.1', r));
  return {
    socket,
    port: (socket.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

/** A UDP entrypoint on 127.0.0.1:0 routing to the given servers. */
export async function startUdp(
  servers: (number | string)[],
  opts: Partial<UdpEntrypointOptions> = {},
): Promise<{ ep: UdpEntrypoint; port: number }> {
  const config: DynamicConfig = {
    udp: {
      routers: { 'dns@file': { entryPoints: ['udp-ep'], service: 'dns@file' } },
      services: {
        'dns@file': {
          loadBalancer: { servers: servers.map((s) => ({ address: typeof s === 'number' ? `127.0.0.1:${s}` : s })) },
        },
      },
    },
  };
  const eps: Record<string, EntryPointConfig> = {
    'udp-ep': { address: '127.0.0.1:0/udp', host: '127.0.0.1', port: 0, protocol: 'udp' },
  };
  const built = buildUdpRouting(config, eps, { logger: silentLogger });
  const routing = built.routing.get('udp-ep');
  const ep = new UdpEntrypoint('udp-ep', eps['udp-ep']!, () => routing, { logger: silentLogger, ...opts });
  await ep.start();
  return { ep, port: ep.address().port };
}

/** Sends one datagram from a fresh client socket and waits for one reply (or undefined after `waitMs`). */
export async function ask(port: number, msg: Buffer, waitMs = 2000, client?: DgramSocket): Promise<Buffer | undefined> {
  const s = client ?? createSocket('udp4');
  if (!client) await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => {
        s.off('message', onMsg);
        resolve(undefined);
      }, waitMs);
      const onMsg = (m: Buffer): void => {
        clearTimeout(timer);
        s.off('message', onMsg);
        resolve(m);
      };
      s.on('message', onMsg);
      s.send(msg, port, '127.0.0.1');
    });
  } finally {
    if (!client) s.close();
  }
}
