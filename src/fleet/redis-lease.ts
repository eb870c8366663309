import type { Redis } from 'ioredis';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { LockResult, StorageLease } from '../acme/storage.ts';

/** Key names of leases and their fencing counters. */
export const leaseKey = (prefix: string, key: string): string => `${prefix}lease:${key}`;
export const fenceKey = (prefix: string, key: string): string => `${prefix}fence:${key}`;

// Takes the lease when free: a new fencing token from the key's counter, the value "node|token".
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur, redis.call('PTTL', KEYS[1])} end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. t, 'PX', ARGV[2])
return {1, t}`;
// Extends it only while it is still ours.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
// Deletes it only while it is still ours.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A lease on one certificate's order: SET NX PX with a fencing token, renewed at a third of its
 * duration while the order runs. When a renewal finds the lease gone or someone else's, or no
 * renewal has succeeded for a whole duration (Redis unreachable), the lease is lost: its signal
 * aborts, and the storage refuses writes with its token once another host has a newer one.
 */
export class RedisLease implements StorageLease {
  readonly token: number;
  readonly key: string;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly redis: Redis;
  private readonly value: string;
  private readonly redisKey: string;
  private lastRenewed = Date.now();
  private done = false;
  private readonly onEnd: () => void;

  constructor(
    redis: Redis,
    prefix: string,
    key: string,
    node: string,
    token: number,
    ttlMs: number,
    log: Logger,
    onEnd: () => void,
  ) {
    this.redis = redis;
    this.key = key;
    this.token = token;
    this.value = `${node}|${token}`;
    this.redisKey = leaseKey(prefix, key);
    this.onEnd = onEnd;
    this.timer = setInterval(
      () => {
        this.redis.eval(RENEW, 1, this.redisKey, this.value, ttlMs).then(
          (r) => {
            if (Number(r) === 1) this.lastRenewed = Date.now();
            else this.lose("the lease expired and is no longer this host's", log);
          },
          (err: unknown) => {
            if (Date.now() - this.lastRenewed > ttlMs)
              this.lose(`not renewed for ${ttlMs} ms: ${errorMessage(err)}`, log);
          },
        );
      },
      Math.max(50, Math.floor(ttlMs / 3)),
    );
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async release(): Promise<void> {
    if (this.done) return;
    this.end();
    await this.redis.eval(RELEASE, 1, this.redisKey, this.value).catch(() => undefined);
  }

  private lose(why: string, log: Logger): void {
    if (this.done) return;
    log.warn({ lease: this.key, token: this.token, why }, 'fleet: order lease lost');
    this.end();
    this.controller.abort(new Error(`fleet lease on ${this.key} lost: ${why}`));
  }

  private end(): void {
    this.done = true;
    clearInterval(this.timer);
    this.onEnd();
  }
}

/** Tries to take the lease on `key` for `node`; see {@link LockResult}. */
export async function acquireLease(
  redis: Redis,
  opts: {
    prefix: string;
    key: string;
    node: string;
    ttlMs: number;
    replicated: boolean;
    log: Logger;
    onStart: (l: RedisLease) => void;
    onEnd: (l: RedisLease) => void;
  },
): Promise<LockResult> {
  let r: unknown;
  try {
    r = await redis.eval(
      ACQUIRE,
      2,
      leaseKey(opts.prefix, opts.key),
      fenceKey(opts.prefix, opts.key),
      opts.node,
      opts.ttlMs,
    );
  } catch (err) {
    return { unavailable: errorMessage(err) };
  }
  const [ok, a, b] = r as [number, string | number, number];
  if (Number(ok) !== 1) return { heldBy: String(a).split('|')[0] ?? String(a), retryInMs: Math.max(0, Number(b)) + 50 };
  if (opts.replicated) {
    // With Sentinel, a lease only on the master would vanish in a failover and let a second
    // host order the same certificate: wait until a replica has it.
    await redis.wait(1, Math.min(1000, opts.ttlMs)).catch(() => 0);
  }
  const lease: RedisLease = new RedisLease(
    redis,
    opts.prefix,
    opts.key,
    opts.node,
    Number(a),
    opts.ttlMs,
    opts.log,
    () => opts.onEnd(lease),
  );
  opts.onStart(lease);
  return { lease };
}
