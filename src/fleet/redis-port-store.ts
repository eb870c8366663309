import type { Redis } from 'ioredis';
import type { PortAssignment } from '../tcp/port-allocator.ts';

/**
 * Dynamic-port assignments shared by a fleet (`edge.dynamicPorts`): a service gets the same port
 * on every host, so a client (or a load balancer in front) finds it anywhere. The same contract as
 * the local allocator's assign/release/list, asynchronous.
 */
export interface PortStore {
  assign(key: string, protocol: 'tcp' | 'udp', range: { readonly from: number; readonly to: number }): Promise<{ port: number } | { error: string }>;
  release(key: string, protocol: 'tcp' | 'udp'): Promise<void>;
  list(): Promise<PortAssignment[]>;
}

// Atomic: an existing assignment in range is kept; otherwise the lowest port no key holds.
const ASSIGN = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local from, to = tonumber(ARGV[2]), tonumber(ARGV[3])
if cur then
  local p = tonumber(cjson.decode(cur).port)
  if p >= from and p <= to then return p end
  redis.call('HDEL', KEYS[2], tostring(p))
end
for p = from, to do
  if redis.call('HSETNX', KEYS[2], tostring(p), ARGV[1]) == 1 then
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ port = p, assignedAt = ARGV[4] }))
    return p
  end
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

  async assign(key: string, protocol: 'tcp' | 'udp', range: { readonly from: number; readonly to: number }): Promise<{ port: number } | { error: string }> {
    const port = Number(await this.redis.eval(ASSIGN, 2, ...this.keys(protocol), key, range.from, range.to, new Date().toISOString()));
    if (port < 0) return { error: `no free ${protocol} port in edge.dynamicPorts ${range.from}-${range.to} across the fleet; widen the range` };
    return { port };
  }

  async release(key: string, protocol: 'tcp' | 'udp'): Promise<void> {
    await this.redis.eval(RELEASE, 2, ...this.keys(protocol), key);
  }

  async list(): Promise<PortAssignment[]> {
    const out: PortAssignment[] = [];
    for (const protocol of ['tcp', 'udp'] as const) {
      for (const [key, v] of Object.entries(await this.redis.hgetall(this.keys(protocol)[0]))) {
        const a = JSON.parse(v) as { port: number; assignedAt: string };
        out.push({ key, protocol, port: a.port, assignedAt: a.assignedAt });
      }
    }
    return out.sort((a, b) => (a.protocol === b.protocol ? a.port - b.port : a.protocol < b.protocol ? -1 : 1));
  }
}
