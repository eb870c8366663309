import { hostname } from 'node:os';
import type { FleetConfig } from '../config/static/types.ts';
import type { AcmeStorage } from '../acme/storage.ts';
import type { Http01Responder } from '../acme/http01-responder.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import { durationOr } from '../lib/duration.ts';
import type { Logger } from '../lib/logger.ts';
import { RedisChallengeRelay } from './challenge-relay.ts';
import { FleetBus } from './fleet-bus.ts';
import { KeyCipher } from './key-cipher.ts';
import { RedisAcmeStorage } from './redis-acme-storage.ts';
import { RedisConnection } from './redis-connection.ts';
import type { RedisLease } from './redis-lease.ts';
import { RedisClaimStore, type ClaimStore } from './redis-claim-store.ts';
import { RedisPortStore, type PortStore } from './redis-port-store.ts';

/** What `/health`, the dashboard and `/metrics` show about the fleet. */
export interface FleetStatus {
  node: string;
  connected: boolean;
  /** Why Redis is not connected. */
  lastError?: string;
  /** Since when the connection is up or down (ISO). */
  since: string;
  /** Order leases this host holds now (the certificates it is ordering for the fleet). */
  leases: string[];
  /** Last comparison of the local certificates with Redis (ISO), if any. */
  lastSync?: string;
  /** Hosts seen recently. */
  nodes: string[];
}

const PREFIX = 'berth:';

/**
 * Fleet mode (SPEC §13): the Redis connection and everything berth shares through it — ACME
 * storage with order leases, challenge answers, host heartbeats — plus the status the API shows.
 */
export class Fleet {
  readonly node: string;
  readonly relay: RedisChallengeRelay;
  private readonly conn: RedisConnection;
  private readonly bus: FleetBus;
  private readonly cipher: KeyCipher;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly syncMs: number;
  private readonly leases = new Set<RedisLease>();
  private readonly storages = new Map<string, RedisAcmeStorage>();
  private readonly timer: NodeJS.Timeout;

  private constructor(cfg: FleetConfig, conn: RedisConnection, log: Logger) {
    this.conn = conn;
    this.log = log;
    this.node = cfg.node ?? hostname();
    this.leaseMs = durationOr(cfg.leaseDuration, 30_000);
    this.syncMs = durationOr(cfg.syncInterval, 30_000);
    this.cipher = cfg.encryptionKeyFile ? KeyCipher.fromFile(cfg.encryptionKeyFile) : new KeyCipher();
    this.bus = new FleetBus(conn, PREFIX, log);
    this.relay = new RedisChallengeRelay({ conn, bus: this.bus, prefix: PREFIX, node: this.node, log, ackTimeoutMs: 3000, liveNodes: () => this.liveNodes() });
    // The periodic reconcile: heartbeat, then every storage compares itself with Redis. It does
    // not depend on pub/sub, so a missed notification costs at most one interval.
    this.timer = setInterval(() => this.tick(), this.syncMs);
    this.timer.unref();
    conn.onState((up) => {
      if (up) this.tick();
    });
    this.tick();
  }

  /** Connects to Redis (ioredis is loaded now) and starts the heartbeat and reconcile timer. */
  static async start(cfg: FleetConfig, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Fleet> {
    const conn = await RedisConnection.open(cfg, env, log);
    return new Fleet(cfg, conn, log);
  }

  /** The ACME storage for an `acme.storage` path: Redis, with that file as the local cache. */
  acmeStorage(path: string): AcmeStorage {
    let s = this.storages.get(path);
    if (!s) {
      s = new RedisAcmeStorage({ conn: this.conn, bus: this.bus, prefix: PREFIX, node: this.node, cipher: this.cipher, cachePath: path, leaseMs: this.leaseMs, log: this.log, leases: this.leases });
      this.storages.set(path, s);
    }
    return s;
  }

  /** The fleet's host-claim ledger (for the Docker provider). */
  claimStore(): ClaimStore {
    return new RedisClaimStore(this.conn.cmd, PREFIX);
  }

  /** The fleet's dynamic-port assignments (for the port allocator). */
  portStore(): PortStore {
    return new RedisPortStore(this.conn.cmd, PREFIX);
  }

  /** Lets answers published by other hosts reach this host's responder and TLS store. */
  attach(responder: Http01Responder, store: CertificateStore): void {
    this.relay.attach(responder, store);
  }

  status(): FleetStatus {
    const lastSync = Math.max(0, ...[...this.storages.values()].map((s) => s.lastSync));
    return {
      node: this.node,
      connected: this.conn.state.connected,
      ...(this.conn.state.lastError && !this.conn.state.connected ? { lastError: this.conn.state.lastError } : {}),
      since: new Date(this.conn.state.since).toISOString(),
      leases: [...this.leases].map((l) => l.key).sort(),
      ...(lastSync > 0 ? { lastSync: new Date(lastSync).toISOString() } : {}),
      nodes: this.nodes,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const l of [...this.leases]) await l.release();
    await this.conn.cmd.hdel(`${PREFIX}nodes`, this.node).catch(() => 0);
    await this.conn.close();
  }

  private nodes: string[] = [];

  private tick(): void {
    if (!this.conn.state.connected) return;
    void this.conn.cmd.hset(`${PREFIX}nodes`, this.node, String(Date.now())).catch(() => 0);
    void this.liveNodes().then((n) => { this.nodes = n; }, () => undefined);
    for (const s of this.storages.values()) s.notify();
  }

  /** Hosts whose heartbeat is recent (three reconcile intervals). */
  private async liveNodes(): Promise<string[]> {
    const all = await this.conn.cmd.hgetall(`${PREFIX}nodes`);
    const cutoff = Date.now() - 3 * this.syncMs;
    return Object.entries(all).filter(([, at]) => Number(at) >= cutoff).map(([n]) => n).sort();
  }
}
