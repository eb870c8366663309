import { isIP } from 'node:net';
import { buildIpMatcher, normalizeIp } from '../lib/ip.ts';

/** `::ffff:a.b.c.d`, `::ffff:a00:1`, `0:0:0:0:0:ffff:…`: IPv6 spellings Go reads as IPv4. */
const V4_MAPPED = /^(?:(?:0{1,4}:){5}|::(?:0{1,4}:){0,4})ffff:/i;

/**
 * The test of ClientIP(`ip or CIDR`), as Traefik's `ip.Checker` makes it: the value is read as Go's
 * `net.ParseIP` / `net.ParseCIDR` read it (no surrounding spaces, no IPv6 zone, or it is refused:
 * undefined); the client's zone is ignored and an IPv4-mapped client is its IPv4 address; an IPv4
 * client never falls in an IPv6 range (`::/0`) unless the range is written IPv4-mapped.
 */
export function buildClientIpTest(value: string): ((clientIp: string) => boolean) | undefined {
  if (value !== value.trim() || value.includes('%')) return undefined;
  const { matcher, invalid } = buildIpMatcher([value]);
  if (invalid.length > 0) return undefined;
  const addr = value.split('/')[0] as string;
  if (isIP(addr) !== 6 || V4_MAPPED.test(addr)) return (ip) => matcher.has(ip);
  return (ip) => isIP(normalizeIp(ip)) === 6 && matcher.has(ip);
}
