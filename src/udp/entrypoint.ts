import { createSocket, type RemoteInfo, type Socket as DgramSocket } from 'node:dgram';
import { isIP, type AddressInfo } from 'node:net';
import type { EntryPointConfig } from '../config/static/types.ts';
import { durationOr } from '../lib/duration.ts';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { IntervalLog, l4Counters, type UdpDropReason } from '../tcp/l4-counters.ts';
import type { UdpEntrypointRouting, UdpServerTarget } from './routing.ts';

/** Traefik's default UDP session timeout (`entryPoints.x.udp.timeout`). */
export const DEFAULT_UDP_TIMEOUT_MS = 3000;
/** Default bound on concurrent sessions (each holds one upstream socket). */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Datagrams queued per session while its upstream socket is still connecting. */
const MAX_PENDING = 32;
/**
 * Receive buffer asked for the listening socket. A burst of new clients arrives faster than
 * sessions open (each needs a socket, a bind and a connect), and the kernel drops what does not fit
 * meanwhile: the default (208 KiB) holds about 256 small datagrams on loopback. The kernel caps
 * the size at `net.core.rmem_max`.
 */
export const UDP_RECEIVE_BUFFER_BYTES = 4 << 20;

/** Options of a UDP entrypoint. */
export interface UdpEntrypointOptions {
  readonly logger: Logger;
  /** Session table bound; the least recently active session is evicted beyond it. */
  readonly maxSessions?: number;
  /** Overrides the entrypoint's `udp.timeout`. */
  readonly idleTimeoutMs?: number;
  /** Dropped sessions are logged at most once per this interval (ms) and reason; default 10 s. */
  readonly dropLogIntervalMs?: number;
}

interface Session {
  readonly key: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly upstream: DgramSocket;
  lastSeen: number;
  /** Datagrams from the client waiting for the upstream socket to connect; null once connected. */
  pending: Buffer[] | null;
  closed: boolean;
}

/**
 * A UDP entrypoint: one listening socket, and per client (address:port) a session with its own
 * connected upstream socket, so replies find their way back. New sessions take the next server of
 * the routing current at that moment (round robin); existing ones keep theirs across reloads.
 * Sessions expire after `udp.timeout` without traffic either way, and the table is bounded (least
 * recently active evicted first; each eviction counted in `berth_udp_sessions_dropped_total` and
 * logged at most once per interval). Upstream errors (ICMP port unreachable, a vanished server)
 * end that session only.
 */
export class UdpEntrypoint {
  readonly name: string;
  readonly #cfg: EntryPointConfig;
  readonly #getRouting: () => UdpEntrypointRouting | undefined;
  readonly #log: Logger;
  readonly #max: number;
  readonly #idleMs: number;
  /** Insertion order = least recently active first (a session is re-inserted on client traffic). */
  readonly #sessions = new Map<string, Session>();
  #socket: DgramSocket | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  readonly #drops: IntervalLog;

  constructor(
    name: string,
    cfg: EntryPointConfig,
    getRouting: () => UdpEntrypointRouting | undefined,
    opts: UdpEntrypointOptions,
  ) {
    this.name = name;
    this.#cfg = cfg;
    this.#getRouting = getRouting;
    this.#log = opts.logger;
    this.#max = Math.max(1, opts.maxSessions ?? DEFAULT_MAX_SESSIONS);
    this.#idleMs = opts.idleTimeoutMs ?? durationOr(cfg.udp?.timeout, DEFAULT_UDP_TIMEOUT_MS);
    this.#drops = new IntervalLog(opts.dropLogIntervalMs);
  }

  /** Number of live sessions. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** The bound address (after `start`). */
  address(): AddressInfo {
    if (!this.#socket) throw new BerthError(ErrorCodes.LISTEN, `UDP entrypoint ${this.name} is not started`);
    return this.#socket.address();
  }

  /** Binds the listening socket; rejects with a `LISTEN` error when the address is unusable. */
  async start(): Promise<void> {
    const host = this.#cfg.host;
    const family = host === '' ? 'udp6' : isIP(host) === 6 ? 'udp6' : 'udp4';
    const bindHost = host === '' ? '::' : host;
    const socket = createSocket({
      type: family,
      reuseAddr: false,
      recvBufferSize: UDP_RECEIVE_BUFFER_BYTES,
      ...(host === '' ? { ipv6Only: false } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(
          new BerthError(
            ErrorCodes.LISTEN,
            `UDP entrypoint ${this.name}: cannot bind ${bindHost}:${this.#cfg.port}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      socket.once('error', onError);
      socket.bind(this.#cfg.port, bindHost, () => {
        socket.removeListener('error', onError);
        resolve();
      });
    });
    socket.on('error', (err) =>
      this.#log.warn({ entrypoint: this.name, err: errorMessage(err) }, 'UDP entrypoint socket error'),
    );
    socket.on('message', (msg, rinfo) => this.#onClientMessage(msg, rinfo));
    this.#socket = socket;
    // Linux reports twice the size asked (bookkeeping included); less means rmem_max capped it.
    const got = receiveBufferSize(socket);
    if (got !== undefined && got < UDP_RECEIVE_BUFFER_BYTES * 2) {
      this.#log.info(
        { entrypoint: this.name, receiveBufferBytes: got, wanted: UDP_RECEIVE_BUFFER_BYTES },
        `UDP entrypoint ${this.name}: receive buffer limited to ${Math.round(got / 1024)} KiB by net.core.rmem_max; a burst of new clients beyond it is dropped by the kernel (sysctl net.core.rmem_max=${UDP_RECEIVE_BUFFER_BYTES} raises it)`,
      );
    }
    const every = Math.max(25, Math.min(1000, Math.floor(this.#idleMs / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  /** Closes the listening socket and every session. */
  async stop(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const s of this.#sessions.values()) this.#close(s);
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await new Promise<void>((r) => socket.close(() => r()));
  }

  #onClientMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    let s = this.#sessions.get(key);
    if (s === undefined) {
      const target = this.#getRouting()?.pick();
      if (target === undefined) return;
      s = this.#open(key, rinfo, target);
      if (s === undefined) return;
    } else {
      this.#sessions.delete(key);
      this.#sessions.set(key, s);
    }
    s.lastSeen = Date.now();
    if (s.pending !== null) {
      if (s.pending.length < MAX_PENDING) s.pending.push(msg);
      return;
    }
    s.upstream.send(msg, (err) => {
      if (err && s) this.#close(s);
    });
  }

  #open(key: string, rinfo: RemoteInfo, target: UdpServerTarget): Session | undefined {
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.values().next().value;
      if (!oldest) break;
      this.#close(oldest);
      this.#dropped(
        'evicted',
        `UDP session table of ${this.name} is full (${this.#max} sessions, limits.udpMaxSessions): the least recently active session was closed`,
      );
    }
    const v6 = isIP(target.host) === 6;
    let upstream: DgramSocket;
    try {
      upstream = createSocket(v6 ? 'udp6' : 'udp4');
    } catch (err) {
      this.#dropped(
        'refused',
        `cannot create a UDP upstream socket for a new client of ${this.name}: ${errorMessage(err)}`,
      );
      return undefined;
    }
    const s: Session = {
      key,
      clientAddress: rinfo.address,
      clientPort: rinfo.port,
      upstream,
      lastSeen: Date.now(),
      pending: [],
      closed: false,
    };
    this.#sessions.set(key, s);
    upstream.on('error', () => this.#close(s));
    upstream.on('message', (reply) => {
      s.lastSeen = Date.now();
      this.#socket?.send(reply, s.clientPort, s.clientAddress);
    });
    const connect = (): void => {
      upstream.connect(target.port, target.host, () => {
        if (s.closed) return;
        const queued = s.pending ?? [];
        s.pending = null;
        for (const m of queued)
          upstream.send(m, (err) => {
            if (err) this.#close(s);
          });
      });
    };
    // A loopback upstream is reached from a loopback source; others from the default route.
    if (isLoopback(target.host)) upstream.bind(0, v6 ? '::1' : '127.0.0.1', connect);
    else connect();
    return s;
  }

  /** Counts a lost session; the log hears about it at most once per interval and reason. */
  #dropped(reason: UdpDropReason, message: string): void {
    l4Counters.udpDropped(this.name, reason);
    this.#drops.note(reason, (skipped) => {
      this.#log.warn(
        { entrypoint: this.name, reason, ...(skipped > 0 ? { alsoDroppedSinceLastLine: skipped } : {}) },
        message,
      );
    });
  }

  #close(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    s.pending = null;
    if (this.#sessions.get(s.key) === s) this.#sessions.delete(s.key);
    try {
      s.upstream.close();
    } catch {
      /* already closed */
    }
  }

  #sweep(): void {
    const deadline = Date.now() - this.#idleMs;
    for (const s of this.#sessions.values()) if (s.lastSeen < deadline) this.#close(s);
  }
}

function receiveBufferSize(socket: DgramSocket): number | undefined {
  try {
    return socket.getRecvBufferSize();
  } catch {
    return undefined;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}
