import type { IncomingHttpHeaders } from 'node:http';
import { hostname } from 'node:os';

const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server', 'x-forwarded-prefix', 'x-forwarded-uri', 'x-forwarded-method', 'x-forwarded-tls-client-cert', 'x-forwarded-tls-client-cert-info', 'x-real-ip', 'forwarded']);
const SERVER = hostname();

/**
 * Removes forwarding headers sent by an untrusted peer, including aliases that some backends read
 * (`X_Forwarded_For`, any case), so nobody can spoof their address or scheme through berth.
 */
export function stripUntrustedForwarded(headers: IncomingHttpHeaders): void {
  for (const name in headers) {
    if (name.charCodeAt(0) !== 120 /* x */ && name !== 'forwarded') continue;
    const canonical = name.includes('_') ? name.replace(/_/g, '-') : name;
    if (FORWARDED.has(canonical)) delete headers[name];
  }
}

/** The client address given by a trusted peer's X-Forwarded-For (its last entry), else the peer. */
export function forwardedClientIp(headers: IncomingHttpHeaders, remoteIp: string): string {
  const xff = headers['x-forwarded-for'];
  if (!xff) return remoteIp;
  const s = Array.isArray(xff) ? xff.join(',') : xff;
  const first = s.split(',')[0]?.trim();
  return first || remoteIp;
}

/**
 * Sets Traefik's forwarding headers on the outgoing request: X-Forwarded-For (appended to a trusted
 * chain), -Proto, -Host, -Port, -Server and X-Real-Ip.
 */
export function setForwardedHeaders(headers: IncomingHttpHeaders, remoteIp: string, scheme: 'http' | 'https', port: number, upgrade: boolean, host: string | undefined): void {
  const prior = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remoteIp}` : remoteIp;
  if (!headers['x-forwarded-proto']) headers['x-forwarded-proto'] = upgrade ? (scheme === 'https' ? 'wss' : 'ws') : scheme;
  if (!headers['x-forwarded-host'] && host) headers['x-forwarded-host'] = host;
  if (!headers['x-forwarded-port']) headers['x-forwarded-port'] = String(port);
  headers['x-forwarded-server'] = SERVER;
  if (!headers['x-real-ip']) headers['x-real-ip'] = remoteIp;
}
