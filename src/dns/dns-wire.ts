/**
 * Byte-level helpers for the parts of DNS messages dns-packet does not cover: encoding names the
 * canonical way (TSIG MACs are computed over lower-case, uncompressed names) and walking resource
 * records to find where one starts (TSIG is the last additional record and is verified on the
 * bytes before it).
 */

/** A domain name in uncompressed wire form, lower case (RFC 4034 canonical form). */
export function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '').toLowerCase();
  const parts: Buffer[] = [];
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      const b = Buffer.from(label, 'utf8');
      if (b.length === 0 || b.length > 63) throw new Error(`invalid DNS name "${name}": empty or over-long label`);
      parts.push(Buffer.from([b.length]), b);
    }
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Offset just past the (possibly compressed) name starting at `offset`. */
export function skipName(buf: Buffer, offset: number): number {
  let o = offset;
  for (;;) {
    if (o >= buf.length) throw new Error('truncated name');
    const len = buf[o]!;
    if (len === 0) return o + 1;
    if ((len & 0xc0) === 0xc0) return o + 2;
    o += 1 + len;
  }
}

/** Reads a (possibly compressed) name at `offset`, with a bound on pointer hops. */
export function readName(buf: Buffer, offset: number): string {
  const labels: string[] = [];
  let o = offset;
  for (let hops = 0; hops < 64; hops++) {
    if (o >= buf.length) throw new Error('truncated name');
    const len = buf[o]!;
    if (len === 0) return labels.join('.').toLowerCase();
    if ((len & 0xc0) === 0xc0) {
      o = buf.readUInt16BE(o) & 0x3fff;
      continue;
    }
    labels.push(buf.toString('utf8', o + 1, o + 1 + len));
    o += 1 + len;
  }
  throw new Error('name compression loop');
}

/** Header counts of a message. */
export function counts(buf: Buffer): { qd: number; an: number; ns: number; ar: number } {
  return { qd: buf.readUInt16BE(4), an: buf.readUInt16BE(6), ns: buf.readUInt16BE(8), ar: buf.readUInt16BE(10) };
}

/** Offset of the last resource record of the message (undefined when it has none). */
export function lastRecordOffset(buf: Buffer): number | undefined {
  const c = counts(buf);
  let o = 12;
  for (let i = 0; i < c.qd; i++) o = skipName(buf, o) + 4;
  const total = c.an + c.ns + c.ar;
  if (total === 0) return undefined;
  let last = o;
  for (let i = 0; i < total; i++) {
    last = o;
    o = skipName(buf, o);
    const rdlen = buf.readUInt16BE(o + 8);
    o += 10 + rdlen;
    if (o > buf.length) throw new Error('truncated record');
  }
  return last;
}
