/**
 * Entrypoint addresses as Traefik writes them: `:80`, `127.0.0.1:8080`, `[::]:443`, `:53/udp`,
 * `[::1]:53/udp`, `localhost:8080`. Parsing never throws: it returns the parts or a message.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed listen address. `host` is '' for all interfaces and has no brackets. */
export interface ListenAddress {
  host: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses an entrypoint address; port 0 is allowed (a free port chosen by the OS). */
export function parseListenAddress(address: string): ListenAddress | { error: string } {
  let rest = address.trim();
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash !== -1) {
    const proto = rest.slice(slash + 1).toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp')
      return { error: `unknown protocol "${rest.slice(slash + 1)}" in "${address}" (use /tcp or /udp)` };
    protocol = proto;
    rest = rest.slice(0, slash);
  }
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1 || rest[close + 1] !== ':') return { error: `invalid address "${address}": expected [IPv6]:port` };
    host = rest.slice(1, close);
    portText = rest.slice(close + 2);
    if (!isIPv6(host)) return { error: `invalid address "${address}": "${host}" is not an IPv6 address` };
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon === -1) return { error: `invalid address "${address}": missing port (e.g. ":80" or "127.0.0.1:8080")` };
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host.includes(':'))
      return { error: `invalid address "${address}": put an IPv6 address in brackets, e.g. "[::1]:443"` };
    if (host !== '' && !isIPv4(host) && !HOSTNAME.test(host))
      return { error: `invalid address "${address}": "${host}" is not an IP address or host name` };
  }
  if (!/^\d{1,5}$/.test(portText)) return { error: `invalid address "${address}": port "${portText}" is not a number` };
  const port = Number(portText);
  if (port > 65535) return { error: `invalid address "${address}": port ${port} is out of range (0-65535)` };
  return { host, port, protocol };
}

/** Formats host and port back into an address (`[::1]:443`, `1.2.3.4:53/udp`). */
export function formatListenAddress(host: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${h}:${port}${protocol === 'udp' ? '/udp' : ''}`;
}
