import type { Socket } from 'node:net';

/**
 * The client's address of an accepted connection, as every layer above the listener should see
 * it: the one a trusted load balancer declared in a PROXY protocol header, else the socket's peer.
 * One place to ask, so the HTTP `ClientIP` rule, forwarded headers, the access log, TCP
 * middlewares and the PROXY header sent upstream never disagree.
 */

/** Both ends of a connection as a PROXY protocol header declares them. */
export interface DeclaredEndpoints {
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstPort: number;
}

/** Accepted sockets that carried a PROXY header from a trusted peer (dropped with the socket). */
const declared = new WeakMap<object, DeclaredEndpoints>();

/** Records the endpoints a trusted PROXY protocol header declared for an accepted socket. */
export function setDeclaredEndpoints(socket: Socket, endpoints: DeclaredEndpoints): void {
  declared.set(socket, endpoints);
}

/**
 * The endpoints declared for `socket`, or for the accepted socket under it: a TLS socket keeps the
 * one it wraps as `_parent`, and HTTP/2's `req.socket` is a proxy that reads through to that TLS
 * socket's properties.
 */
export function declaredEndpointsOf(socket: object | null | undefined): DeclaredEndpoints | undefined {
  if (socket === null || socket === undefined) return undefined;
  const own = declared.get(socket);
  if (own !== undefined) return own;
  const parent = (socket as { _parent?: unknown })._parent;
  return typeof parent === 'object' && parent !== null ? declared.get(parent) : undefined;
}

/** The client's address: declared by a trusted PROXY header, else the socket's remote address. */
export function clientAddressOf(
  socket: { readonly remoteAddress?: string | undefined } | null | undefined,
): string | undefined {
  return declaredEndpointsOf(socket)?.srcIp ?? socket?.remoteAddress;
}

/** The client's port, from the same source as {@link clientAddressOf}. */
export function clientPortOf(
  socket: { readonly remotePort?: number | undefined } | null | undefined,
): number | undefined {
  return declaredEndpointsOf(socket)?.srcPort ?? socket?.remotePort;
}
