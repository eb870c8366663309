import type { Redis } from 'ioredis';
import type { PortAssignment } from '../tcp/port-allocator.ts';

/**
 * Dynamic-port assignments shared by a fleet (`edge.dynamicPorts`): a service gets the same port
 * on every host, so a client (or a load balancer in front) finds it anywhere. The same contract as
 * the local allocator's assign/list, asynchronous; `preferred` is the port the asking host already
 * gave the key (during an outage, or before the fleet answered), kept when no other key has it.
 */
export interface PortStore {
  assign(
    key: string,
    protocol: 'tcp' | 'udp',
    range: { readonly from: number; readonly to: number },
    preferred?: number,
  ): Promise<{ port: number } | { error: string }>;
  release(key: string, protocol: 'tcp' | 'udp'): Promise<void>;
  list(): Promise<PortAssignment[]>;
}

// Atomic: an existing assignment in range is kept; otherwise the preferred port when no key holds
// it, else the lowest port no key holds.
const ASSIGN = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local from, to, want = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
if cur then
  local p = tonumber(cjson.decode(cur).port)
  if p >= from and p <= to then return p end
  if redis.call('HGET', KEYS[2], tostring(p)) == ARGV[1] then redis.call('HDEL', KEYS[2], tostring(p)) end
end
local function take(p)
  if redis.call('HSETNX', KEYS[2], tostring(p), ARGV[1]) == 1 or redis.call('HGET', KEYS[2], tostring(p)) == ARGV[1] then
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ port = p, assignedAt = ARGV[4] }))
    return true
  end
  return false
end
if want >= from and want <= to and take(want) then return want end
for p = from, to do
  if take(p) then return p end
end
return -1`;
const RELEASE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
redis.call('HDEL', KEYS[2], tostring(cjson.decode(cur).port))
return redis.call('HDEL', KEYS[1], ARGV[1])`;
/** {@link PortStore} in Redis: per protocol a hash key → assignment and a hash port → key. */
export class RedisPortStore implements PortStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix = 'berth:') {
    this.redis = redis;
    this.prefix = prefix;
  }

  private keys(protocol: 'tcp' | 'udp'): [string, string] {
    return [`${this.prefix}ports:${protocol}`, `${this.prefix}ports:${protocol}:byport`];
  }

  async assign(
    key: string,
    protocol: 'tcp' | 'udp',
    range: { readonly from: number; readonly to: number },
    preferred = 0,
  ): Promise<{ port: number } | { error: string }> {
    const port = Number(
      await this.redis.eval(
        ASSIGN,
        2,
        ...this.keys(protocol),
        key,
        range.from,
        range.to,
        new Date().toISOString(),
        preferred,
      ),
    );
    if (port < 0)
      return {
        error: `no free ${protocol} port in edge.dynamicPorts ${range.from}-${range.to} across the fleet; widen the range`,
      };
    return { port };
  }

  async release(key: string, protocol: 'tcp' | 'udp'): Promise<void> {
    await this.redis.eval(RELEASE, 2, ...this.keys(protocol), key);
  }

  async list(): Promise<PortAssignment[]> {
    const out: PortAssignment[] = [];
    for (const protocol of ['tcp', 'udp'] as const) {
      for (const [key, v] of Object.entries(await this.redis.hgetall(this.keys(protocol)[0]))) {
        let a: { port?: unknown; assignedAt?: unknown };
        try {
          a = JSON.parse(v) as { port?: unknown; assignedAt?: unknown };
        } catch {
          continue; // not ours to fix: the next assignment of this key replaces it
        }
        if (typeof a.port !== 'number' || !Number.isInteger(a.port)) continue;
        out.push({
          key,
          protocol,
          port: a.port,
          assignedAt: typeof a.assignedAt === 'string' ? a.assignedAt : new Date(0).toISOString(),
        });
      }
    }
    return out.sort((a, b) => (a.protocol === b.protocol ? a.port - b.port : a.protocol < b.protocol ? -1 : 1));
  }
}
