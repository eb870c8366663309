import { isIPv4, isIPv6 } from 'node:net';
import type { DeclaredEndpoints } from './client-address.ts';
import { V2_SIGNATURE } from './proxy-protocol.ts';

/**
 * Reads the PROXY protocol header (HAProxy's spec, v1 text and v2 binary) a load balancer writes
 * first on a connection. Pure: it looks at the bytes received so far and says whether they are a
 * header (and how long), not one, not yet decidable, or broken. Anything doubtful is broken: a
 * header is only believed when every field is well formed.
 */

/** What the first bytes of a connection are. */
export type ProxyHeaderParse =
  /** No PROXY signature: the bytes are the client's own. */
  | { readonly status: 'none' }
  /** A prefix of a header (or of a signature): wait for more bytes. */
  | { readonly status: 'need-more' }
  | { readonly status: 'error'; readonly reason: string }
  /**
   * A complete header of `length` bytes. `endpoints` is undefined when the header says to keep the
   * connection's own addresses (v2 LOCAL, v1 UNKNOWN, v2 UNSPEC or UNIX families).
   */
  | {
      readonly status: 'ok';
      readonly length: number;
      readonly version: 1 | 2;
      readonly endpoints: DeclaredEndpoints | undefined;
    };

/** The longest v1 header the spec allows, CRLF included. */
export const V1_MAX_BYTES = 107;
/**
 * The longest v2 header accepted (16-byte preamble, addresses and TLVs). The format allows 64 KiB;
 * real balancers send well under 1 KiB (addresses plus a few TLVs), and a header is buffered whole.
 */
export const V2_MAX_BYTES = 4096;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const PORT_RE = /^(0|[1-9]\d{0,4})$/;
const V6_TEXT_RE = /^[0-9A-Fa-f:.]+$/;

const NONE = { status: 'none' } as const;
const NEED_MORE = { status: 'need-more' } as const;

/** Classifies the bytes received so far on a connection (see {@link ProxyHeaderParse}). */
export function parseProxyHeader(buf: Buffer): ProxyHeaderParse {
  if (startsLike(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? NEED_MORE : parseV1(buf);
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < 16 ? NEED_MORE : parseV2(buf);
  return NONE;
}

/** Whether `buf` and `sig` agree on their common length (a short `buf` may still become `sig`). */
function startsLike(buf: Buffer, sig: Buffer): boolean {
  const n = Math.min(buf.length, sig.length);
  return n > 0 && buf.compare(sig, 0, n, 0, n) === 0;
}

function error(reason: string): ProxyHeaderParse {
  return { status: 'error', reason };
}

function parseV1(buf: Buffer): ProxyHeaderParse {
  const lf = buf.indexOf(0x0a);
  if (lf < 0 || lf >= V1_MAX_BYTES)
    return buf.length >= V1_MAX_BYTES || lf >= V1_MAX_BYTES
      ? error(`v1 header without CRLF in its first ${V1_MAX_BYTES} bytes`)
      : NEED_MORE;
  if (buf[lf - 1] !== 0x0d) return error('v1 header line does not end with CRLF');
  const line = buf.toString('latin1', 0, lf - 1);
  const parts = line.split(' ');
  const proto = parts[1];
  // UNKNOWN: the rest of the line is ignored and the connection's own addresses are kept.
  if (proto === 'UNKNOWN') return { status: 'ok', length: lf + 1, version: 1, endpoints: undefined };
  if (proto !== 'TCP4' && proto !== 'TCP6')
    return error(`v1 header with unknown protocol ${JSON.stringify(clip(proto ?? ''))}`);
  if (parts.length !== 6) return error('v1 header needs exactly: PROXY TCP4|TCP6 src dst srcport dstport');
  const [, , srcIp, dstIp, srcPort, dstPort] = parts as [string, string, string, string, string, string];
  const valid = proto === 'TCP4' ? isIPv4 : (ip: string): boolean => V6_TEXT_RE.test(ip) && isIPv6(ip);
  if (!valid(srcIp) || !valid(dstIp))
    return error(`v1 header with an address that is not ${proto === 'TCP4' ? 'IPv4' : 'IPv6'}`);
  const sp = port(srcPort);
  const dp = port(dstPort);
  if (sp === undefined || dp === undefined) return error('v1 header with an invalid port');
  return { status: 'ok', length: lf + 1, version: 1, endpoints: { srcIp, dstIp, srcPort: sp, dstPort: dp } };
}

function port(text: string): number | undefined {
  if (!PORT_RE.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV2(buf: Buffer): ProxyHeaderParse {
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return error(`v2 header with version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  if (command > 1) return error(`v2 header with unknown command ${command}`);
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  if (family > 3 || transport > 2)
    return error(`v2 header with unknown address family or transport 0x${buf[13]!.toString(16).padStart(2, '0')}`);
  const length = 16 + buf.readUInt16BE(14);
  if (length > V2_MAX_BYTES) return error(`v2 header of ${length} bytes, more than the ${V2_MAX_BYTES} accepted`);
  if (buf.length < length) return NEED_MORE;
  // LOCAL (health checks of the balancer itself), UNSPEC and UNIX: keep the real peer.
  if (command === 0 || family === 0 || family === 3 || transport === 0)
    return { status: 'ok', length, version: 2, endpoints: undefined };
  if (family === 1) {
    if (length < 16 + 12) return error('v2 header with an IPv4 address block shorter than 12 bytes');
    return {
      status: 'ok',
      length,
      version: 2,
      endpoints: {
        srcIp: ipv4Text(buf, 16),
        dstIp: ipv4Text(buf, 20),
        srcPort: buf.readUInt16BE(24),
        dstPort: buf.readUInt16BE(26),
      },
    };
  }
  if (length < 16 + 36) return error('v2 header with an IPv6 address block shorter than 36 bytes');
  return {
    status: 'ok',
    length,
    version: 2,
    endpoints: {
      srcIp: ipv6Text(buf, 16),
      dstIp: ipv6Text(buf, 32),
      srcPort: buf.readUInt16BE(48),
      dstPort: buf.readUInt16BE(50),
    },
  };
}

function ipv4Text(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

/** RFC 5952 text of 16 address bytes (longest run of zero groups as `::`; mapped IPv4 dotted). */
export function ipv6Text(buf: Buffer, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(at + i * 2));
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return `::ffff:${ipv4Text(buf, at + 12)}`;
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

function clip(s: string): string {
  return s.length > 16 ? `${s.slice(0, 16)}…` : s;
}
