import type { Redis } from 'ioredis';

/** One repository's claim on a host name (the Docker provider's ledger entry). */
export interface HostClaim {
  /** The host name, lower case. */
  readonly host: string;
  /** Who claims it: the repository (daemon) identity. */
  readonly owner: string;
  /** The claiming container. */
  readonly container: string;
  /** Creation time of that container (epoch ms): the earliest wins. */
  readonly createdAt: number;
}

/**
 * The host-claim ledger shared by a fleet: the Docker provider asks it who owns a host instead of
 * its local file. Small on purpose, so the file and Redis implementations are interchangeable.
 */
export interface ClaimStore {
  /** Records `claim` and returns the claim that holds the host afterwards (possibly another owner's). */
  claim(claim: HostClaim): Promise<HostClaim>;
  /** Drops `owner`'s claim on `host` (its container was removed, or its grace period ended). */
  release(host: string, owner: string): Promise<void>;
  get(host: string): Promise<HostClaim | undefined>;
  list(): Promise<HostClaim[]>;
}

// Atomic: the earliest-created claimant keeps the host whatever order hosts report in; the same
// owner claiming again keeps its earliest creation time.
const CLAIM = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local new = cjson.decode(ARGV[2])
if cur then
  local old = cjson.decode(cur)
  if old.owner == new.owner then
    if tonumber(new.createdAt) >= tonumber(old.createdAt) then return cur end
  elseif tonumber(old.createdAt) < tonumber(new.createdAt) or (tonumber(old.createdAt) == tonumber(new.createdAt) and old.owner < new.owner) then
    return cur
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]`;
const RELEASE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cjson.decode(cur).owner == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

/**
 * {@link ClaimStore} in Redis: one hash, every decision in a Lua script, so two hosts that see two
 * repositories claim one name at the same moment agree on the winner (earliest container).
 */
export class RedisClaimStore implements ClaimStore {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(redis: Redis, prefix = 'berth:') {
    this.redis = redis;
    this.key = `${prefix}claims`;
  }

  async claim(c: HostClaim): Promise<HostClaim> {
    const host = c.host.toLowerCase();
    const won = await this.redis.eval(CLAIM, 1, this.key, host, JSON.stringify({ ...c, host }));
    return JSON.parse(String(won)) as HostClaim;
  }

  async release(host: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, host.toLowerCase(), owner);
  }

  async get(host: string): Promise<HostClaim | undefined> {
    const v = await this.redis.hget(this.key, host.toLowerCase());
    return v ? (JSON.parse(v) as HostClaim) : undefined;
  }

  async list(): Promise<HostClaim[]> {
    return Object.values(await this.redis.hgetall(this.key)).map((v) => JSON.parse(v) as HostClaim).sort((a, b) => (a.host < b.host ? -1 : 1));
  }
}
