import type { Socket } from 'node:net';

/** Parts up to this size in all are copied into one buffer: one write, one syscall. */
const COALESCE_BYTES = 16 * 1024;

/**
 * What a connection writes, gathered so that a response head, its body bytes and the chunked
 * framing around them leave in one `write` (one syscall): parts are collected while the output is
 * corked (the forwarder corks around each upstream read) or until `flush`. Small parts are copied
 * into one buffer; large ones go out as one `writev`.
 */
export class SocketOutput {
  private readonly socket: Socket;
  private parts: (string | Buffer)[] = [];
  private bytes = 0;
  /** Nesting depth of `cork`. */
  corked = 0;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Whether nothing is waiting. */
  get empty(): boolean {
    return this.parts.length === 0;
  }

  /** Whether bytes given to it are still held in memory: gathered here, or queued on the socket. */
  get holding(): boolean {
    return this.parts.length > 0 || this.socket.writableLength > 0;
  }

  /** Adds a part; strings are latin1 (a head, chunk framing). */
  put(part: string | Buffer): void {
    this.parts.push(part);
    this.bytes += part.length;
  }

  /** Writes what is gathered; false when the socket asks the writer to wait for `drain`. */
  flush(): boolean {
    const parts = this.parts;
    const sock = this.socket;
    const n = parts.length;
    if (n === 0) return !sock.writableNeedDrain;
    if (sock.destroyed || !sock.writable) {
      this.parts = [];
      this.bytes = 0;
      return false;
    }
    let ok: boolean;
    if (n === 1) {
      const p = parts[0]!;
      ok = typeof p === 'string' ? sock.write(p, 'latin1') : sock.write(p);
      parts.length = 0;
    } else if (this.bytes <= COALESCE_BYTES) {
      const buf = Buffer.allocUnsafe(this.bytes);
      let off = 0;
      for (let i = 0; i < n; i++) {
        const p = parts[i]!;
        off += typeof p === 'string' ? buf.write(p, off, 'latin1') : p.copy(buf, off);
      }
      parts.length = 0;
      ok = sock.write(buf);
    } else {
      this.parts = [];
      sock.cork();
      ok = true;
      for (let i = 0; i < n; i++) {
        const p = parts[i]!;
        ok = typeof p === 'string' ? sock.write(p, 'latin1') : sock.write(p);
      }
      sock.uncork();
    }
    this.bytes = 0;
    return ok;
  }

  /** Drops what is gathered (the connection is being torn down). */
  discard(): void {
    this.parts = [];
    this.bytes = 0;
  }
}
