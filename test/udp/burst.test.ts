/**
 * A burst of new UDP clients through a real berth: every one of them gets its answer. The burst
 * arrives faster than sessions open (each needs its own upstream socket), so it waits in the
 * listening socket's receive buffer; with the kernel's default buffer part of it was dropped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { UDP_RECEIVE_BUFFER_BYTES } from '../../src/udp/entrypoint.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freeUdpPort } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { requireIntegration } from '../helpers/tools.ts';

const CLIENTS = 300;
const RUNS = 3;

/** DNS-like query: a 2-byte id, then a fixed question. */
function query(id: number): Buffer {
  const q = Buffer.alloc(40, 0x2e);
  q.writeUInt16BE(id, 0);
  return q;
}

/** Binds `n` client sockets, then sends one query from each at once; resolves with the ids answered. */
async function burst(port: number, n: number, deadlineMs: number): Promise<Set<number>> {
  const clients: DgramSocket[] = [];
  for (let i = 0; i < n; i++) {
    const c = createSocket('udp4');
    await new Promise<void>((r) => c.bind(0, '127.0.0.1', r));
    clients.push(c);
  }
  const answered = new Set<number>();
  try {
    await new Promise<void>((resolve) => {
      // Only an overall deadline, far above the time a burst takes: a lost answer never arrives.
      const timer = setTimeout(resolve, deadlineMs);
      for (const [i, c] of clients.entries())
        c.once('message', (m: Buffer) => {
          if (m.readUInt16BE(0) === i) answered.add(i);
          if (answered.size === n) {
            clearTimeout(timer);
            resolve();
          }
        });
      for (const [i, c] of clients.entries()) c.send(query(i), port, '127.0.0.1');
    });
  } finally {
    for (const c of clients) c.close();
  }
  return answered;
}

describe('UDP burst through berth', () => {
  let berth: BerthProcess | undefined;
  let upstream: DgramSocket | undefined;
  let port = 0;
  let usable = true;

  before(async () => {
    // The kernel caps every socket's receive buffer at net.core.rmem_max.
    usable = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')) >= UDP_RECEIVE_BUFFER_BYTES;
    if (!usable) return;
    // The upstream answers every query; its own buffer must take the whole burst too.
    upstream = createSocket({ type: 'udp4', recvBufferSize: UDP_RECEIVE_BUFFER_BYTES });
    upstream.on('message', (m, r) => upstream!.send(m, r.port, r.address));
    await new Promise<void>((r) => upstream!.bind(0, '127.0.0.1', r));
    const dir = tempDir('berth-udp-burst-');
    port = await freeUdpPort();
    writeFileSync(
      join(dir, 'dynamic.yaml'),
      stringify({
        udp: {
          routers: { dns: { entryPoints: ['dns'], service: 'dns' } },
          services: { dns: { loadBalancer: { servers: [{ address: `127.0.0.1:${upstream.address().port}` }] } } },
        },
      }),
    );
    berth = await startBerth({
      dir,
      config: {
        entryPoints: { dns: { address: `127.0.0.1:${port}/udp` } },
        providers: { file: { filename: join(dir, 'dynamic.yaml') } },
      },
    });
    // The router is in place once one query is answered.
    for (let i = 0; (await burst(port, 1, 1000)).size === 0; i++) assert.ok(i < 30, 'the UDP router never answered');
  });
  after(async () => {
    await berth?.stop();
    upstream?.close();
  });

  test(`${CLIENTS} new clients at once, ${RUNS} times: every one is answered`, async (t) => {
    if (!usable) {
      const msg = `net.core.rmem_max is below ${UDP_RECEIVE_BUFFER_BYTES}: the kernel drops part of a burst whatever berth asks (sysctl -w net.core.rmem_max=${UDP_RECEIVE_BUFFER_BYTES})`;
      if (requireIntegration) throw new Error(msg);
      t.skip(msg);
      return;
    }
    for (let run = 1; run <= RUNS; run++) {
      const answered = await burst(port, CLIENTS, 30_000);
      assert.equal(answered.size, CLIENTS, `run ${run}: ${answered.size} of ${CLIENTS} answered`);
    }
  });
});
