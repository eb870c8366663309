import { BlockList, isIP } from 'node:net';

/** Strips the IPv4-mapped prefix so `::ffff:127.0.0.1` compares as `127.0.0.1`. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * A set of addresses and CIDR ranges (`10.0.0.0/8`, `::1`, `192.168.1.7`), as used by
 * `trustedIPs`, `ClientIP(...)` and `ipAllowList.sourceRange`. Built once, matched per request.
 */
export interface IpMatcher {
  has(ip: string): boolean;
}

/** Builds a matcher; invalid entries are returned in `invalid` instead of throwing. */
export function buildIpMatcher(ranges: readonly string[]): { matcher: IpMatcher; invalid: string[] } {
  const list = new BlockList();
  const invalid: string[] = [];
  let any = false;
  for (const raw of ranges) {
    const entry = raw.trim();
    const [addr, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(addr);
    if (family === 0) {
      invalid.push(raw);
      continue;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(addr, type);
      any = true;
      continue;
    }
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) {
      invalid.push(raw);
      continue;
    }
    list.addSubnet(addr, prefix, type);
    any = true;
  }
  const matcher: IpMatcher = {
    has(ipRaw: string): boolean {
      if (!any) return false;
      const ip = normalizeIp(ipRaw);
      const family = isIP(ip);
      if (family === 0) return false;
      return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
  return { matcher, invalid };
}
