import { isIPv4, isIPv6 } from 'node:net';
import { normalizeIp } from '../lib/ip.ts';

/**
 * PROXY protocol headers (HAProxy spec, v1 text and v2 binary) that berth writes first on an
 * upstream connection when a TCP service sets `proxyProtocol.version`, so the backend learns the
 * real client address. Addresses that cannot be expressed give the spec's UNKNOWN / LOCAL form.
 */

/** The 12 bytes every version 2 header starts with. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** The endpoints of the client connection as berth accepted it. */
export interface ProxyEndpoints {
  readonly srcIp: string | undefined;
  readonly srcPort: number | undefined;
  readonly dstIp: string | undefined;
  readonly dstPort: number | undefined;
}

/** Builds the header for version 1 or 2. */
export function proxyProtocolHeader(version: 1 | 2, ep: ProxyEndpoints): Buffer {
  const src = normalizeIp(ep.srcIp);
  const dst = normalizeIp(ep.dstIp);
  const known =
    (isIPv4(src) || isIPv6(src)) &&
    (isIPv4(dst) || isIPv6(dst)) &&
    ep.srcPort !== undefined &&
    ep.dstPort !== undefined;
  const v4 = known && isIPv4(src) && isIPv4(dst);
  if (version === 1) {
    if (!known) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    const s = v4 ? src : toV6Text(src);
    const d = v4 ? dst : toV6Text(dst);
    return Buffer.from(`PROXY ${v4 ? 'TCP4' : 'TCP6'} ${s} ${d} ${ep.srcPort} ${ep.dstPort}\r\n`, 'latin1');
  }
  if (!known) return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const addrLen = v4 ? 12 : 36;
  const out = Buffer.alloc(16 + addrLen);
  V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21; // version 2, PROXY command
  out[13] = v4 ? 0x11 : 0x21; // TCP over IPv4 / IPv6
  out.writeUInt16BE(addrLen, 14);
  if (v4) {
    ipv4Bytes(src).copy(out, 16);
    ipv4Bytes(dst).copy(out, 20);
    out.writeUInt16BE(ep.srcPort!, 24);
    out.writeUInt16BE(ep.dstPort!, 26);
  } else {
    ipv6Bytes(toV6Text(src)).copy(out, 16);
    ipv6Bytes(toV6Text(dst)).copy(out, 32);
    out.writeUInt16BE(ep.srcPort!, 48);
    out.writeUInt16BE(ep.dstPort!, 50);
  }
  return out;
}

function toV6Text(ip: string): string {
  return isIPv4(ip) ? `::ffff:${ip}` : ip;
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** 16 bytes of an IPv6 address in text form (with `::` and an optional dotted IPv4 tail). */
export function ipv6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // A dotted IPv4 tail is two 16-bit groups.
    const v4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, rest] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const h = head ? head.split(':').map((x) => parseInt(x, 16)) : [];
  const r = rest ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const groups =
    rest === undefined ? h : [...h, ...new Array<number>(Math.max(0, 8 - h.length - r.length)).fill(0), ...r];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(groups[i] ?? 0, i * 2);
  return out;
}
