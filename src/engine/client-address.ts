import type { Socket } from 'node:net';
import { normalizeIp } from '../lib/ip.ts';

/** Where a connection comes from, as berth reports and trusts it. */
export interface ClientAddress {
  /** Normalised (no `::ffff:` prefix). */
  readonly address: string;
  readonly port: number;
}

const kClientAddress = Symbol.for('berth.clientAddress');
type Marked = Socket & { [kClientAddress]?: ClientAddress; _parent?: Socket | null };

/**
 * Records the client address of a connection when the socket's peer is not the client (a PROXY
 * protocol header named the real one). Set on the accepted socket; TLS sockets over it see it too.
 */
export function setClientAddress(socket: Socket, address: string, port: number): void {
  (socket as Marked)[kClientAddress] = { address: normalizeIp(address), port };
}

/**
 * The client address of a connection: the one a PROXY protocol header gave, else the socket's
 * peer. The only place the data plane reads a peer address, so whatever supplies it (PROXY
 * protocol today, anything else later) is honoured everywhere.
 */
export function clientAddress(socket: Socket): ClientAddress {
  const s = socket as Marked;
  const parent = s._parent as Marked | null | undefined;
  const own = s[kClientAddress] ?? parent?.[kClientAddress];
  if (own !== undefined) return own;
  const found: ClientAddress = { address: normalizeIp(socket.remoteAddress), port: socket.remotePort ?? 0 };
  s[kClientAddress] = found;
  return found;
}
