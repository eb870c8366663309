import * as net from 'node:net';
import { lookup } from 'node:dns/promises';
import { getSystemErrorName } from 'node:util';
import { BerthError, ErrorCodes } from '../lib/errors.ts';

/**
 * A TCP socket the primary binds for its workers and keeps: the workers listen and accept on it,
 * the primary never does. Because the primary holds it, a hand-over can pass it to the next berth
 * and no connection queued on it is lost when the old workers stop (closing the last copy of a
 * listening socket resets the connections waiting in its queue).
 */
export interface BoundSocket {
  readonly fd: number;
  close(): void;
}

/** libuv's UV_TCP_REUSEPORT bind flag. */
const UV_TCP_REUSEPORT = 2;

interface RawHandle { readonly fd: number; close(): void }
type CreateServerHandle = (address: string | undefined, port: number, addressType: number | undefined, fd: undefined, flags: number) => number | RawHandle;

/**
 * Binds `host:port` with SO_REUSEPORT without listening (Node's net has no public call for a
 * bound, not yet listening socket; cluster uses the same internal one). A conflict on the port
 * surfaces when a worker starts listening on it.
 */
export async function bindReusePort(host: string, port: number): Promise<BoundSocket> {
  const create = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;
  if (typeof create !== 'function') throw new BerthError(ErrorCodes.LISTEN, 'this Node.js cannot bind a socket for the workers');
  const address = host === '' ? undefined : net.isIP(host) !== 0 ? host : (await lookup(host)).address;
  const handle = create(address, port, address === undefined ? undefined : net.isIP(address), undefined, UV_TCP_REUSEPORT);
  if (typeof handle === 'number') throw new BerthError(ErrorCodes.LISTEN, `cannot bind ${host || '*'}:${port}: ${getSystemErrorName(handle)}`);
  return { fd: handle.fd, close: () => handle.close() };
}

/**
 * Which listening sockets each of `workers` workers accepts on, given an entrypoint's sockets:
 * one socket is shared by all (systemd's), otherwise socket j goes to worker j mod workers, and a
 * worker left without one shares socket i mod sockets. Every socket has at least one acceptor.
 */
export function assignSockets(fds: readonly number[], workers: number): number[][] {
  const out: number[][] = Array.from({ length: workers }, () => []);
  if (fds.length === 0) return out;
  if (fds.length === 1) return out.map(() => [fds[0]!]);
  fds.forEach((fd, j) => out[j % workers]!.push(fd));
  for (let i = fds.length; i < workers; i++) out[i]!.push(fds[i % fds.length]!);
  return out;
}
