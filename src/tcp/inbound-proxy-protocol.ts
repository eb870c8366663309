import type { Socket } from 'node:net';
import type { EntryPointConfig } from '../config/static/types.ts';
import { buildIpMatcher, normalizeIp, type IpMatcher } from '../lib/ip.ts';
import type { Logger } from '../lib/logger.ts';
import { setDeclaredEndpoints } from './client-address.ts';
import { parseProxyHeader } from './proxy-header-parser.ts';
import { readPrefix } from './read-prefix.ts';

/**
 * PROXY protocol on the accepting side (`entryPoints.<name>.proxyProtocol`): a load balancer in
 * front of berth writes the client's address first on each connection. The header is read before
 * anything else looks at the connection (TLS, HTTP, TCP routing), and its address becomes the
 * connection's client address (`clientAddressOf`).
 *
 * Only peers in `trustedIPs` (everyone with `insecure`) are read. Anyone else's bytes are left
 * untouched, a PROXY header included: it is the client's data, so HTTP answers it with 400 and a
 * TCP route forwards it as bytes; it never sets an address. (Traefik reads and drops such a header;
 * berth does not wait for the first bytes of a peer it would not believe, so server-first
 * protocols keep working for direct clients.)
 */
export interface InboundProxyProtocol {
  /** Whether a peer's header would be believed. */
  trusts(peerIp: string): boolean;
  /**
   * Reads the header of a trusted peer's connection, then calls `next` with the header's bytes
   * consumed; a connection that carries no header goes on unchanged. A malformed header, a peer
   * that closes or stays silent past the timeout: that connection is closed and `next` never runs.
   * An untrusted peer goes to `next` at once.
   */
  accept(socket: Socket, next: (socket: Socket) => void): void;
}

/** Options of the reader. */
export interface InboundProxyOptions {
  /** How long a trusted peer may take to send the header (ms). */
  readonly timeoutMs: number;
  /** Where malformed headers are reported (debug level: they come from trusted peers). */
  readonly logger?: Logger;
}

/** The reader for an entrypoint's `proxyProtocol` section; undefined when the section is absent. */
export function inboundProxyProtocol(
  cfg: EntryPointConfig['proxyProtocol'],
  opts: InboundProxyOptions,
): InboundProxyProtocol | undefined {
  if (cfg === undefined) return undefined;
  const matcher: IpMatcher | undefined =
    cfg.insecure === true ? undefined : buildIpMatcher(cfg.trustedIPs ?? []).matcher;
  const trusts = (ip: string): boolean => matcher === undefined || matcher.has(ip);
  return {
    trusts,
    accept(socket, next) {
      if (!trusts(normalizeIp(socket.remoteAddress))) next(socket);
      else readHeader(socket, opts, next);
    },
  };
}

function readHeader(socket: Socket, opts: InboundProxyOptions, next: (socket: Socket) => void): void {
  let received: Buffer | undefined;
  readPrefix(socket, opts.timeoutMs, (chunk) => {
    const all = received === undefined ? chunk : Buffer.concat([received, chunk]);
    received = all;
    const res = parseProxyHeader(all);
    if (res.status === 'need-more') return undefined;
    if (res.status === 'error') {
      return () => {
        opts.logger?.debug(
          { client: socket.remoteAddress, reason: res.reason },
          'invalid PROXY protocol header, connection closed',
        );
        socket.destroy();
      };
    }
    return () => {
      let rest = all;
      if (res.status === 'ok') {
        if (res.endpoints !== undefined) setDeclaredEndpoints(socket, res.endpoints);
        rest = all.subarray(res.length);
      }
      if (rest.length > 0) socket.unshift(rest);
      next(socket);
    };
  });
}
