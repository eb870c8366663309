import type { Redis } from 'ioredis';
import {
  FileAcmeStorage,
  mergeStores,
  recordNotAfter,
  StaleLeaseError,
  type AcmeAccountRecord,
  type AcmeCertificateRecord,
  type AcmeStorage,
  type AcmeStore,
  type LockResult,
  type StorageChange,
  type StorageLease,
} from '../acme/storage.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { FleetBus } from './fleet-bus.ts';
import type { KeyCipher } from './key-cipher.ts';
import type { RedisConnection } from './redis-connection.ts';
import { acquireLease, fenceKey, RedisLease } from './redis-lease.ts';

// Stores a certificate only while the writer's fencing token is the newest granted for its lease.
const PUT_FENCED = `
if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`;
// Stores a certificate only when it is newer than the one there (catch-up after an outage).
const PUT_NEWER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok, obj = pcall(cjson.decode, cur)
  if ok and tonumber(obj.notAfter or 0) >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`;

/** Options of {@link RedisAcmeStorage}. */
export interface RedisAcmeStorageOptions {
  readonly conn: RedisConnection;
  readonly bus: FleetBus;
  readonly prefix: string;
  readonly node: string;
  readonly cipher: KeyCipher;
  /** The local acme.json: Traefik's format, read when Redis is not. */
  readonly cachePath: string;
  readonly leaseMs: number;
  readonly log: Logger;
  /** Leases this host holds, for status. */
  readonly leases: Set<RedisLease>;
}

/**
 * ACME storage shared by a fleet through Redis: accounts, certificates and keys (keys encrypted
 * when a key file is set), order leases with fencing, and a notification when another host stored
 * something. The local acme.json is kept as a read-through cache in Traefik's format, so a host
 * restarts and serves while Redis is down; what it stores meanwhile is pushed once Redis is back
 * (newer certificates win), and so is anything Redis lost (a failover, a restart without
 * persistence).
 */
export class RedisAcmeStorage implements AcmeStorage {
  readonly location: string;
  private readonly o: RedisAcmeStorageOptions;
  private readonly cache: FileAcmeStorage;
  private readonly listeners = new Set<() => void>();
  /** Records whose write to Redis failed, pushed at the next successful contact. */
  private readonly dirty = new Map<string, StorageChange>();
  /** Last time this storage's content was compared with Redis (epoch ms). */
  lastSync = 0;

  constructor(o: RedisAcmeStorageOptions) {
    this.o = o;
    this.cache = new FileAcmeStorage(o.cachePath, o.log);
    this.location = `redis fleet (cache ${o.cachePath})`;
    o.bus.on('acme', (m) => {
      if (m.node !== o.node) this.notify();
    });
  }

  private get redis(): Redis {
    return this.o.conn.cmd;
  }

  private k(resolver: string, what: 'account' | 'certs'): string {
    return `${this.o.prefix}acme:${resolver}:${what}`;
  }

  async read(): Promise<AcmeStore> {
    const local = await this.cache.read();
    if (!this.o.conn.state.connected) return local;
    let remote: AcmeStore;
    try {
      remote = await this.fetch();
    } catch (err) {
      this.o.log.debug({ err: errorMessage(err) }, 'fleet: Redis not read; using the local cache');
      return local;
    }
    const doc = structuredClone(remote);
    const onlyLocal = mergeStores(doc, local);
    // Anti-entropy: what this host has and Redis lacks (written during an outage, or lost by Redis).
    for (const { resolver, record } of onlyLocal.certificates)
      await this.putNewer(resolver, record).catch(() =>
        this.dirty.set(`${resolver}|${record.domain.main}`, { resolver, certificate: record.domain.main }),
      );
    for (const resolver of onlyLocal.accounts)
      await this.putAccount(resolver, doc[resolver]!.Account!, true).catch(() => undefined);
    if (JSON.stringify(doc) !== JSON.stringify(local))
      await this.cache
        .write(doc)
        .catch((err: unknown) =>
          this.o.log.warn({ err: errorMessage(err) }, 'fleet: local acme.json cache not written'),
        );
    this.lastSync = Date.now();
    return doc;
  }

  async write(doc: AcmeStore, change?: StorageChange, lease?: StorageLease): Promise<void> {
    if (change && 'certificate' in change && lease instanceof RedisLease && this.o.conn.state.connected) {
      const rec = findCert(doc, change.resolver, change.certificate);
      let stored: number | undefined;
      try {
        stored = Number(
          await this.redis.eval(
            PUT_FENCED,
            3,
            fenceKey(this.o.prefix, lease.key),
            this.k(change.resolver, 'certs'),
            `${this.o.prefix}acme:resolvers`,
            lease.token,
            change.certificate,
            this.encode(rec),
            change.resolver,
            this.o.bus.channel,
            this.event(change.resolver),
          ),
        );
      } catch {
        stored = undefined; // unreachable now: stored locally, pushed later (newer wins)
      }
      if (stored === 0)
        throw new StaleLeaseError(
          `the lease on ${lease.key} was granted to another host (token ${lease.token} is stale); certificate not stored`,
        );
      if (stored === 1) {
        if (this.o.conn.replicated) await this.redis.wait(1, 1000).catch(() => 0);
        await this.cache.write(doc);
        return;
      }
    }
    await this.cache.write(doc);
    if (change)
      this.dirty.set(
        'certificate' in change ? `${change.resolver}|${change.certificate}` : `${change.resolver}|`,
        change,
      );
    await this.flush(doc);
  }

  lock(key: string): Promise<LockResult> {
    if (!this.o.conn.state.connected)
      return Promise.resolve({ unavailable: this.o.conn.state.lastError ?? 'not connected' });
    return acquireLease(this.redis, {
      prefix: this.o.prefix,
      key,
      node: this.o.node,
      ttlMs: this.o.leaseMs,
      replicated: this.o.conn.replicated,
      log: this.o.log,
      onStart: (l) => this.o.leases.add(l),
      onEnd: (l) => this.o.leases.delete(l),
    });
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the manager to read again (a notification, a reconnect, the periodic reconcile). */
  notify(): void {
    for (const l of this.listeners) l();
  }

  /** Pushes what failed to reach Redis before; throws (keeping it pending) while Redis is unreachable. */
  private async flush(doc: AcmeStore): Promise<void> {
    for (const [id, change] of [...this.dirty]) {
      if ('certificate' in change) {
        const rec = findCert(doc, change.resolver, change.certificate);
        if (rec) await this.putNewer(change.resolver, rec);
      } else {
        const account = doc[change.resolver]?.Account;
        if (account) await this.putAccount(change.resolver, account, false);
      }
      this.dirty.delete(id);
    }
  }

  private async putNewer(resolver: string, rec: AcmeCertificateRecord): Promise<void> {
    await this.redis.eval(
      PUT_NEWER,
      2,
      this.k(resolver, 'certs'),
      `${this.o.prefix}acme:resolvers`,
      rec.domain.main,
      this.encode(rec),
      recordNotAfter(rec),
      resolver,
      this.o.bus.channel,
      this.event(resolver),
    );
  }

  private async putAccount(resolver: string, account: AcmeAccountRecord, onlyIfAbsent: boolean): Promise<void> {
    const value = JSON.stringify({ ...account, PrivateKey: this.o.cipher.encrypt(account.PrivateKey) });
    if (onlyIfAbsent) await this.redis.set(this.k(resolver, 'account'), value, 'NX');
    else await this.redis.set(this.k(resolver, 'account'), value);
    await this.redis.sadd(`${this.o.prefix}acme:resolvers`, resolver);
    if (this.o.conn.replicated) await this.redis.wait(1, 1000).catch(() => 0);
  }

  private async fetch(): Promise<AcmeStore> {
    const out: AcmeStore = {};
    for (const resolver of await this.redis.smembers(`${this.o.prefix}acme:resolvers`)) {
      const [account, certs] = await Promise.all([
        this.redis.get(this.k(resolver, 'account')),
        this.redis.hgetall(this.k(resolver, 'certs')),
      ]);
      const section: AcmeStore[string] = { Account: null, Certificates: [] };
      if (account) {
        try {
          const a = JSON.parse(account) as AcmeAccountRecord;
          section.Account = { ...a, PrivateKey: this.o.cipher.decrypt(a.PrivateKey) };
        } catch (err) {
          this.o.log.error({ resolver, err: errorMessage(err) }, 'fleet: stored ACME account unreadable');
        }
      }
      for (const [main, text] of Object.entries(certs)) {
        try {
          const { record } = JSON.parse(text) as { record: AcmeCertificateRecord };
          section.Certificates!.push({ ...record, key: this.o.cipher.decrypt(record.key) });
        } catch (err) {
          this.o.log.error(
            { resolver, domain: main, err: errorMessage(err) },
            'fleet: stored certificate unreadable; skipped',
          );
        }
      }
      out[resolver] = section;
    }
    return out;
  }

  private encode(rec: AcmeCertificateRecord | undefined): string {
    if (!rec) throw new Error('certificate record missing from the document');
    return JSON.stringify({
      record: { ...rec, key: this.o.cipher.encrypt(rec.key) },
      notAfter: recordNotAfter(rec),
      node: this.o.node,
      at: Date.now(),
    });
  }

  private event(resolver: string): string {
    return JSON.stringify({ type: 'acme', node: this.o.node, resolver });
  }
}

function findCert(doc: AcmeStore, resolver: string, main: string): AcmeCertificateRecord | undefined {
  return doc[resolver]?.Certificates?.find((c) => c.domain.main === main);
}
