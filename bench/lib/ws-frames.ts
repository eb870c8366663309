/** A decoded WebSocket frame (RFC 6455), unmasked. Fragmentation is not used by the bench. */
export interface WsFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** Encodes one final frame; clients must mask (`mask` true), servers must not. */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + extra + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (extra === 2) head.writeUInt16BE(len, 2);
  else if (extra === 8) head.writeBigUInt64BE(BigInt(len), 2);
  // A masked frame carries an all-zero key (already in `head`): valid, and the payload stays as is,
  // so the client spends no time masking — the bench measures the proxy, not the client.
  return Buffer.concat([head, payload]);
}

/** Incremental frame parser for a byte stream. */
export class WsFrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Adds bytes and returns the frames completed by them. */
  push(chunk: Buffer): WsFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: WsFrame[] = [];
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      const keyOff = off;
      if (masked) off += 4;
      if (b.length < off + len) break;
      let payload = b.subarray(off, off + len);
      if (masked) {
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ b[keyOff + (i & 3)]!;
      }
      out.push({ opcode: b[0]! & 0x0f, payload });
      this.buf = b.subarray(off + len);
    }
    return out;
  }
}
