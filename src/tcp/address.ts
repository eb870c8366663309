import { isIP } from 'node:net';

/**
 * Parses a server address `host:port` / `[v6]:port` as Traefik's TCP and UDP servers take it.
 * Returns undefined when it is not one.
 */
export function parseHostPort(address: string): { host: string; port: number } | undefined {
  const a = address.trim();
  let host: string;
  let portText: string;
  if (a.startsWith('[')) {
    const close = a.indexOf(']');
    if (close < 0 || a[close + 1] !== ':') return undefined;
    host = a.slice(1, close);
    portText = a.slice(close + 2);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = a.lastIndexOf(':');
    if (colon <= 0 || a.indexOf(':') !== colon) return undefined;
    host = a.slice(0, colon);
    portText = a.slice(colon + 1);
    if (!/^[A-Za-z0-9._-]+$/.test(host)) return undefined;
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}
