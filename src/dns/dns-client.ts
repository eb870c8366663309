import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { connect } from 'node:net';
import * as packet from 'dns-packet';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';

/**
 * A small DNS client on dns-packet: one question to one server, UDP with a fall-back to TCP when
 * the answer is truncated. berth asks servers directly (authoritative ones without recursion) and
 * must not see cached answers while it waits for a record to appear, which a system resolver
 * would give it.
 */

/** `host:port` of a DNS server. */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

/** `1.2.3.4`, `1.2.3.4:53`, `[::1]:53`, `::1`, `ns1.example.com:5353` → host and port. */
export function parseServer(s: string, defaultPort = 53): DnsServer {
  const v = s.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : defaultPort };
  if (isIPv6(v)) return { host: v, port: defaultPort };
  const m = /^(.*?)(?::(\d+))?$/.exec(v)!;
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}

/** `host:port` for messages. */
export function formatServer(s: DnsServer): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/** Options of one exchange. */
export interface ExchangeOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Sends a complete message (its ID at bytes 0-1) and returns the raw answer with the same ID. */
export async function exchange(server: DnsServer, message: Buffer, opts: ExchangeOptions = {}): Promise<Buffer> {
  const answer = await exchangeUdp(server, message, opts);
  // TC: the answer did not fit in a datagram; ask again over TCP.
  if (answer.length >= 4 && (answer.readUInt16BE(2) & 0x0200) !== 0) return exchangeTcp(server, message, opts);
  return answer;
}

function exchangeUdp(server: DnsServer, message: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  const id = message.readUInt16BE(0);
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const done = (err: Error | undefined, buf?: Buffer) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      sock.close();
      if (err) reject(err);
      else resolve(buf!);
    };
    const onAbort = () => done(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    const timer = setTimeout(
      () =>
        done(
          new BerthError(
            ErrorCodes.DNS_PROVIDER,
            `no answer from ${formatServer(server)} within ${opts.timeoutMs ?? 5000} ms`,
          ),
        ),
      opts.timeoutMs ?? 5000,
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (err) =>
      done(
        new BerthError(ErrorCodes.DNS_PROVIDER, `DNS server ${formatServer(server)}: ${errorMessage(err)}`, {
          cause: err,
        }),
      ),
    );
    sock.on('message', (buf, rinfo) => {
      // Only the server asked, and only the answer to this ID (anything else is spoofed or late).
      if (rinfo.port !== server.port || buf.length < 12 || buf.readUInt16BE(0) !== id) return;
      done(undefined, buf);
    });
    sock.connect(server.port, server.host, () => sock.send(message));
  });
}

function exchangeTcp(server: DnsServer, message: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const done = (err: Error | undefined, out?: Buffer) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(out!);
    };
    const timer = setTimeout(
      () =>
        done(
          new BerthError(
            ErrorCodes.DNS_PROVIDER,
            `no answer from ${formatServer(server)} (TCP) within ${opts.timeoutMs ?? 5000} ms`,
          ),
        ),
      opts.timeoutMs ?? 5000,
    );
    sock.on('error', (err) =>
      done(
        new BerthError(ErrorCodes.DNS_PROVIDER, `DNS server ${formatServer(server)} (TCP): ${errorMessage(err)}`, {
          cause: err,
        }),
      ),
    );
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(message.length);
      sock.write(Buffer.concat([len, message]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        done(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

/** A fresh random message ID. */
export function newId(): number {
  return randomInt(0, 0x10000);
}

/** Asks `server` one question; `recursion` sets RD (false for authoritative servers). */
export async function query(
  server: DnsServer,
  name: string,
  type: packet.RecordType,
  opts: ExchangeOptions & { recursion?: boolean } = {},
): Promise<packet.DecodedPacket> {
  const msg = packet.encode({
    type: 'query',
    id: newId(),
    flags: opts.recursion === false ? 0 : packet.RECURSION_DESIRED,
    questions: [{ type, name: trimDot(name), class: 'IN' }],
  });
  const raw = await exchange(server, msg, opts);
  try {
    return packet.decode(raw);
  } catch (err) {
    throw new BerthError(
      ErrorCodes.DNS_PROVIDER,
      `unreadable answer from ${formatServer(server)} for ${name} ${type}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

const RCODE_NAMES: readonly string[] = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

/** The response code of a decoded answer (`NOERROR`, `NXDOMAIN`, …). */
export function rcodeOf(answer: packet.DecodedPacket): string {
  const n = (answer.flags ?? 0) & 0xf;
  return RCODE_NAMES[n] ?? `RCODE${n}`;
}

/** `name.` → `name` (dns-packet's form), lower case. */
export function trimDot(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** `name` → `name.` (lego's fully qualified form). */
export function toFqdn(name: string): string {
  return name.endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`;
}

/** The TXT strings of an answer for `name`, each record's chunks joined. */
export function txtValues(answer: packet.DecodedPacket, name: string): string[] {
  const want = trimDot(name);
  const out: string[] = [];
  for (const a of answer.answers ?? []) {
    if (a.type !== 'TXT' || trimDot(a.name) !== want) continue;
    const data = a.data as packet.TxtData;
    const chunks = Array.isArray(data) ? data : [data];
    out.push(chunks.map((c) => (Buffer.isBuffer(c) ? c.toString('utf8') : c)).join(''));
  }
  return out;
}

/**
 * The zone that holds `fqdn`, by asking `servers` for SOA records from `fqdn` upwards (lego's
 * FindZoneByFqdn): the first name whose answer carries its own SOA is the zone apex.
 */
export async function findZone(
  fqdn: string,
  servers: readonly DnsServer[],
  opts: ExchangeOptions = {},
): Promise<string | undefined> {
  const labels = trimDot(fqdn).split('.');
  for (let i = 0; i < labels.length; i++) {
    const name = labels.slice(i).join('.');
    for (const server of servers) {
      let answer: packet.DecodedPacket;
      try {
        answer = await query(server, name, 'SOA', opts);
      } catch {
        continue;
      }
      if (rcodeOf(answer) !== 'NOERROR' && rcodeOf(answer) !== 'NXDOMAIN') continue;
      const soa = (answer.answers ?? []).find((a) => a.type === 'SOA');
      if (soa) return toFqdn(soa.name);
      break;
    }
  }
  return undefined;
}
