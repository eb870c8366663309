import { randomBytes } from 'node:crypto';
import type { ChallengeRelay } from '../acme/challenges.ts';
import type { Http01Responder } from '../acme/http01-responder.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import type { FleetBus, FleetMessage } from './fleet-bus.ts';
import type { RedisConnection } from './redis-connection.ts';

/** How long a published challenge answer is kept (a validation takes seconds). */
const ANSWER_TTL_MS = 10 * 60_000;

/**
 * HTTP-01 tokens and TLS-ALPN-01 certificates for every fleet host: the CA may reach any of them.
 * Answers are kept in Redis and announced on the bus; each host copies them into its own
 * responder and certificate store (which its workers replicate as usual), and acknowledges. The
 * ordering host lets the CA validate once every live host has acknowledged (or after a short
 * bound), so no host is asked before it can answer. A host that (re)connects loads them all.
 */
export class RedisChallengeRelay implements ChallengeRelay {
  private readonly o: {
    conn: RedisConnection;
    bus: FleetBus;
    prefix: string;
    node: string;
    log: Logger;
    ackTimeoutMs: number;
    liveNodes: () => Promise<string[]>;
  };
  private responder: Http01Responder | undefined;
  private store: CertificateStore | undefined;
  private readonly waiting = new Map<string, { pending: Set<string>; done: () => void }>();

  constructor(o: RedisChallengeRelay['o']) {
    this.o = o;
    o.bus.on('challenge', (m) => this.apply(m));
    o.bus.on('challenge-ack', (m) => {
      const w = this.waiting.get(String(m['id']));
      if (!w) return;
      w.pending.delete(m.node);
      if (w.pending.size === 0) w.done();
    });
    o.conn.onState((up) => {
      if (up) void this.loadAll();
    });
  }

  /** Where answers from other hosts go (the manager's responder and the TLS store). */
  attach(responder: Http01Responder, store: CertificateStore): void {
    this.responder = responder;
    this.store = store;
    void this.loadAll();
  }

  async publishHttp01(token: string, keyAuthorization: string): Promise<void> {
    await this.publish({ kind: 'http01', name: token, value: keyAuthorization }, `${this.o.prefix}challenge:http01`);
  }

  async withdrawHttp01(token: string): Promise<void> {
    await this.withdraw('http01', token, `${this.o.prefix}challenge:http01`);
  }

  async publishTlsAlpn01(name: string, key: string, cert: string): Promise<void> {
    await this.publish({ kind: 'alpn', name, value: JSON.stringify({ key, cert }) }, `${this.o.prefix}challenge:alpn`);
  }

  async withdrawTlsAlpn01(name: string): Promise<void> {
    await this.withdraw('alpn', name, `${this.o.prefix}challenge:alpn`);
  }

  private async publish(a: { kind: string; name: string; value: string }, hash: string): Promise<void> {
    const redis = this.o.conn.cmd;
    try {
      await redis.hset(hash, a.name, JSON.stringify({ value: a.value, expires: Date.now() + ANSWER_TTL_MS }));
    } catch (err) {
      // Without Redis only this host can answer; the order goes on (it is a local order then).
      this.o.log.warn(
        { challenge: a.kind, err: errorMessage(err) },
        'fleet: challenge answer not shared; only this host can answer it',
      );
      return;
    }
    const others = (await this.o.liveNodes().catch(() => [])).filter((n) => n !== this.o.node);
    const id = randomBytes(8).toString('hex');
    const acked = new Promise<void>((resolve) => {
      const w = { pending: new Set(others), done: () => resolve() };
      if (w.pending.size === 0) return resolve();
      this.waiting.set(id, w);
      const t = setTimeout(() => {
        this.o.log.debug(
          { challenge: a.kind, missing: [...w.pending] },
          'fleet: not every host acknowledged the challenge answer in time',
        );
        resolve();
      }, this.o.ackTimeoutMs);
      t.unref();
    });
    await this.o.bus.publish({ type: 'challenge', node: this.o.node, op: 'set', id, ...a });
    await acked;
    this.waiting.delete(id);
  }

  private async withdraw(kind: string, name: string, hash: string): Promise<void> {
    await this.o.conn.cmd.hdel(hash, name).catch(() => 0);
    await this.o.bus.publish({ type: 'challenge', node: this.o.node, op: 'del', kind, name });
  }

  private apply(m: FleetMessage): void {
    const kind = String(m['kind']);
    const name = String(m['name']);
    if (m.node !== this.o.node) {
      if (m['op'] === 'set') this.set(kind, name, String(m['value']));
      else this.remove(kind, name);
    }
    if (m['op'] === 'set') void this.o.bus.publish({ type: 'challenge-ack', node: this.o.node, id: m['id'] });
  }

  private set(kind: string, name: string, value: string): void {
    if (kind === 'http01') this.responder?.set(name, value);
    else if (kind === 'alpn' && this.store) {
      const { key, cert } = JSON.parse(value) as { key: string; cert: string };
      this.store.setChallenge(name, { key, cert });
    }
  }

  private remove(kind: string, name: string): void {
    if (kind === 'http01') this.responder?.delete(name);
    else if (kind === 'alpn') this.store?.clearChallenge(name);
  }

  /** Copies every live answer from Redis (after a connect: announcements may have been missed). */
  private async loadAll(): Promise<void> {
    if (!this.responder || !this.o.conn.state.connected) return;
    for (const [kind, hash] of [
      ['http01', `${this.o.prefix}challenge:http01`],
      ['alpn', `${this.o.prefix}challenge:alpn`],
    ] as const) {
      try {
        for (const [name, text] of Object.entries(await this.o.conn.cmd.hgetall(hash))) {
          const { value, expires } = JSON.parse(text) as { value: string; expires: number };
          if (expires > Date.now()) this.set(kind, name, value);
        }
      } catch (err) {
        this.o.log.debug({ err: errorMessage(err) }, 'fleet: challenge answers not loaded');
      }
    }
  }
}
