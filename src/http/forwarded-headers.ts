import { hostname } from 'node:os';
import type { HeaderList } from '../engine/header-list.ts';

const FORWARDED = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-prefix',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-tls-client-cert',
  'x-forwarded-tls-client-cert-info',
  'x-real-ip',
  'forwarded',
]);
const SERVER = hostname();

/** Whether a header name is a forwarding header, in any case and with `_` for `-` (aliases some backends read). */
function isForwarding(name: string): boolean {
  const c = name.charCodeAt(0) | 0x20;
  if (c !== 120 /* x */ && c !== 102 /* f */) return false;
  const l = name.toLowerCase();
  return FORWARDED.has(l.includes('_') ? l.replace(/_/g, '-') : l);
}

/**
 * Removes forwarding headers sent by an untrusted peer, including aliases that some backends read
 * (`X_Forwarded_For`, any case), so nobody can spoof their address or scheme through berth.
 */
export function stripUntrustedForwarded(headers: HeaderList): void {
  const raw = headers.raw;
  let w = 0;
  for (let r = 0; r < raw.length; r += 2) {
    if (isForwarding(raw[r]!)) continue;
    if (w !== r) {
      raw[w] = raw[r]!;
      raw[w + 1] = raw[r + 1]!;
    }
    w += 2;
  }
  raw.length = w;
}

/** The client address given by a trusted peer's X-Forwarded-For (its first entry), else the peer. */
export function forwardedClientIp(headers: HeaderList, remoteIp: string): string {
  const xff = headers.get('x-forwarded-for');
  if (!xff) return remoteIp;
  const comma = xff.indexOf(',');
  const first = (comma < 0 ? xff : xff.slice(0, comma)).trim();
  return first || remoteIp;
}

/**
 * Sets Traefik's forwarding headers on the outgoing request: X-Forwarded-For (appended to a trusted
 * chain), -Proto, -Host, -Port, -Server and X-Real-Ip. From an untrusted peer none can be there
 * (they were stripped), so they are appended without looking.
 */
export function setForwardedHeaders(
  headers: HeaderList,
  remoteIp: string,
  proto: string,
  port: string,
  host: string,
  trusted: boolean,
): void {
  const raw = headers.raw;
  if (!trusted) {
    raw.push('x-forwarded-for', remoteIp, 'x-forwarded-proto', proto);
    if (host) raw.push('x-forwarded-host', host);
    raw.push('x-forwarded-port', port, 'x-forwarded-server', SERVER, 'x-real-ip', remoteIp);
    return;
  }
  const prior = headers.get('x-forwarded-for');
  headers.set('x-forwarded-for', prior ? `${prior}, ${remoteIp}` : remoteIp);
  if (!headers.get('x-forwarded-proto')) headers.set('x-forwarded-proto', proto);
  if (!headers.get('x-forwarded-host') && host) headers.set('x-forwarded-host', host);
  if (!headers.get('x-forwarded-port')) headers.set('x-forwarded-port', port);
  headers.set('x-forwarded-server', SERVER);
  if (!headers.get('x-real-ip')) headers.set('x-real-ip', remoteIp);
}
