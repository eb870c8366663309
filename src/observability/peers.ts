import { utf8 } from './byte-writer.ts';
import { jsonString } from './line-values.ts';

/** A client connection's ClientAddr and ClientPort values, as JSON. */
export interface Peer {
  readonly remote: string;
  readonly addr: Buffer;
  readonly port: Buffer;
}

/** Peers by port (their address checked), forgotten wholesale when there are many. */
export class Peers {
  private readonly byPort = new Map<number | undefined, Peer>();

  get(remote: string, port: number | undefined): Peer {
    const p = this.byPort.get(port);
    if (p !== undefined && p.remote === remote) return p;
    if (this.byPort.size >= 4096) this.byPort.clear();
    const port$ = port !== undefined ? String(port) : '-';
    // `"ip:port"` or `"[v6]:port"`.
    const addr = remote.includes(':') ? '[' + remote + ']:' + port$ : remote + ':' + port$;
    const peer = { remote, addr: utf8(jsonString(addr)), port: utf8('"' + port$ + '"') };
    this.byPort.set(port, peer);
    return peer;
  }
}
