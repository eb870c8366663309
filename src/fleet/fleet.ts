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
import type { ClaimStore } from '../providers/docker/claim-store.ts';
import type { PortAllocator } from '../tcp/port-allocator.ts';
import { FleetClaims, type FleetClaimsStatus } from './fleet-claims.ts';
import { FleetPorts, type FleetPortsStatus } from './fleet-ports.ts';
import { FleetProvider } from './fleet-provider.ts';
import { RedisClaimStore } from './redis-claim-store.ts';
import { RedisPortStore } from './redis-port-store.ts';

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
  /** Where the host claims this host knows come from (with the Docker provider). */
  claims?: FleetClaimsStatus;
  /** Dynamic ports the fleet holds, and those assigned here it has not confirmed yet. */
  ports?: FleetPortsStatus;
}

const PREFIX = 'berth:';

/**
 * Fleet mode (SPEC §13): the Redis connection and everything berth shares through it — ACME
 * storage with order leases, challenge answers, host heartbeats, the host-claim ledger and the
 * dynamic ports — plus the status the API shows.
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
  private readonly relayUrl: string | undefined;
  private readonly redisClaims: RedisClaimStore;
  private claims: FleetClaims | undefined;
  private ports: FleetPorts | undefined;
  private stopped = false;

  private constructor(cfg: FleetConfig, conn: RedisConnection, log: Logger) {
    this.conn = conn;
    this.log = log;
    this.node = cfg.node ?? hostname();
    this.relayUrl = cfg.relayUrl;
    this.redisClaims = new RedisClaimStore(conn.cmd, PREFIX);
    this.leaseMs = durationOr(cfg.leaseDuration, 30_000);
    this.syncMs = durationOr(cfg.syncInterval, 30_000);
    this.cipher = cfg.encryptionKeyFile ? KeyCipher.fromFile(cfg.encryptionKeyFile) : new KeyCipher();
    this.bus = new FleetBus(conn, PREFIX, log);
    this.relay = new RedisChallengeRelay({
      conn,
      bus: this.bus,
      prefix: PREFIX,
      node: this.node,
      log,
      ackTimeoutMs: 3000,
      liveNodes: () => this.liveNodes(),
    });
    // Another host changed claims or ports: read them now rather than at the next sync.
    this.bus.on('claims', (m) => {
      if (m.node !== this.node) void this.claims?.sync();
    });
    this.bus.on('ports', (m) => {
      if (m.node !== this.node) void this.ports?.sync();
    });
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
      s = new RedisAcmeStorage({
        conn: this.conn,
        bus: this.bus,
        prefix: PREFIX,
        node: this.node,
        cipher: this.cipher,
        cachePath: path,
        leaseMs: this.leaseMs,
        log: this.log,
        leases: this.leases,
      });
      this.storages.set(path, s);
    }
    return s;
  }

  /**
   * The Docker provider's claim store in the fleet: `local` (its `claims.json`) for this host's
   * claims, Redis for everyone's, `cachePath` for the fleet's as last seen. A node silent for
   * `goneMs` (the claim grace period) loses its keys to the next claimant.
   */
  claimStore(
    local: ClaimStore,
    opts: { readonly cachePath: string; readonly goneMs: number; readonly log?: Logger },
  ): ClaimStore {
    this.claims ??= new FleetClaims({
      node: this.node,
      store: this.redisClaims,
      connected: () => this.conn.state.connected,
      local,
      cachePath: opts.cachePath,
      // Hosts that start (or reconnect, up to a second apart) together settle on creation order;
      // after that the holder keeps a key. A silent node keeps its keys for the grace period.
      rules: { contestMs: Math.max(2 * this.syncMs, 5_000), goneMs: Math.max(opts.goneMs, 3 * this.syncMs) },
      liveMs: 3 * this.syncMs,
      notify: () => void this.bus.publish({ type: 'claims', node: this.node }),
      log: opts.log ?? this.log,
    });
    return this.claims;
  }

  /**
   * Shares `allocator`'s dynamic ports with the fleet (the same key gets the same port on every
   * host); resolves once the fleet's table has been read, when Redis answers.
   */
  async sharePorts(
    allocator: PortAllocator,
    range: { readonly from: number; readonly to: number },
  ): Promise<PortAllocator> {
    this.ports ??= new FleetPorts({
      allocator,
      store: new RedisPortStore(this.conn.cmd, PREFIX),
      range,
      connected: () => this.conn.state.connected,
      notify: () => void this.bus.publish({ type: 'ports', node: this.node }),
      log: this.log,
    });
    await this.ports.sync();
    return allocator;
  }

  /** The `fleet` provider: relays to other hosts' containers, reports of the fleet's decisions. */
  provider(): FleetProvider {
    return new FleetProvider(
      this.node,
      () => this.claims,
      () => this.ports,
    );
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
      ...(this.claims ? { claims: this.claims.status() } : {}),
      ...(this.ports ? { ports: this.ports.status() } : {}),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    for (const l of [...this.leases]) await l.release();
    await this.conn.cmd.hdel(`${PREFIX}nodes`, this.node).catch(() => 0);
    await this.conn.close();
  }

  private nodes: string[] = [];

  private tick(): void {
    if (!this.conn.state.connected) return;
    void this.conn.cmd.hset(`${PREFIX}nodes`, this.node, String(Date.now())).catch(() => 0);
    void this.liveNodes().then(
      (n) => {
        this.nodes = n;
      },
      () => undefined,
    );
    for (const s of this.storages.values()) s.notify();
    // Seen first: another host decides from it whether this one's claims still stand.
    void Promise.all([this.redisClaims.touch(this.node), this.redisClaims.advertise(this.node, this.relayUrl)])
      .catch(() => undefined)
      .then(() => Promise.all([this.claims?.sync(), this.ports?.sync()]));
  }

  /** Hosts whose heartbeat is recent (three reconcile intervals). */
  private async liveNodes(): Promise<string[]> {
    const all = await this.conn.cmd.hgetall(`${PREFIX}nodes`);
    const cutoff = Date.now() - 3 * this.syncMs;
    return Object.entries(all)
      .filter(([, at]) => Number(at) >= cutoff)
      .map(([n]) => n)
      .sort();
  }
}
