import type { Redis } from 'ioredis';
import { creationKey } from '../providers/docker/claim-order.ts';
import { claimString, parseStoredClaim, type ClaimRoute } from '../providers/docker/claim-store.ts';

/** One host's claim on a key (`host app.example.com`), as the fleet keeps it. */
export interface FleetClaim {
  readonly key: string;
  /** The fleet node (berth host) whose container holds the key. */
  readonly node: string;
  /** The daemon on that node, as that node names it (`docker-2816`). */
  readonly daemon: string;
  readonly container: string;
  readonly containerId: string;
  readonly repository?: string;
  /** The container's creation time (RFC 3339): the earliest wins a contest. */
  readonly created?: string;
  /** Epoch ms at which the owner's host first granted it. */
  readonly since: number;
  readonly stoppedAt?: number;
  /** How the owner's HTTP routers take the host: other hosts relay it with this. */
  readonly route?: ClaimRoute;
}

/** A claimant refused on its own host because another host holds the key. */
export interface FleetRefusal {
  readonly key: string;
  readonly daemon: string;
  readonly container: string;
  /** `http.routers.x`, the element dropped there. */
  readonly element: string;
}

/** When a held key changes hands. */
export interface ClaimRules {
  /**
   * How long after a key was recorded an older container may still take it (hosts that start or
   * come back together settle on creation order); after that the holder keeps it.
   */
  readonly contestMs: number;
  /** How long a node may be silent (no heartbeat) before another node's claimant takes its keys. */
  readonly goneMs: number;
}

// Atomic: the holder keeps a key; a claimant takes it only while the holder's record is fresh and
// the claimant's container is older (ties: the smaller owner id), or once the holder's node has
// been silent longer than the grace period. A node always updates its own claim. A challenger
// (ARGV[9] = 'challenge': a claimant its own host refused) takes a held key only from a silent
// node, and never a free one: its host grants free keys itself.
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local ok, old = false, nil
if cur then ok, old = pcall(cjson.decode, cur) end
if ok and type(old) == 'table' then
  if old.node == ARGV[3] then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    if old.daemon ~= ARGV[4] then redis.call('HSET', KEYS[2], ARGV[1], now) end
    return ARGV[2]
  end
  local seen = tonumber(redis.call('HGET', KEYS[3], tostring(old.node)) or '')
  local gone = seen ~= nil and now - seen > tonumber(ARGV[8])
  local at = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  local oldOrder = tostring(old.order or '~')
  local oldId = tostring(old.node) .. '/' .. tostring(old.daemon) .. '/' .. tostring(old.containerId)
  local older = ARGV[5] < oldOrder or (ARGV[5] == oldOrder and ARGV[6] < oldId)
  if ARGV[9] == 'challenge' then older = false end
  if not gone and not (now - at < tonumber(ARGV[7]) and older) then return cur end
elseif ARGV[9] == 'challenge' then
  return ''
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], now)
return ARGV[2]`;
const RELEASE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local ok, old = false, nil
if cur then ok, old = pcall(cjson.decode, cur) end
if ok and type(old) == 'table' and old.node == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`;
// Puts back claims an emptied Redis lost, as established (not open to a contest); never over a claim.
const RESTORE = `
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then redis.call('HSET', KEYS[2], ARGV[i], 0) end
end
return 0`;
const TOUCH = `
local t = redis.call('TIME')
return redis.call('HSET', KEYS[1], ARGV[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))`;

/**
 * The fleet's claim ledger in Redis: claims by key (every decision in a Lua script, so hosts that
 * see two repositories claim one name at the same moment agree on the winner), when each was
 * recorded, when each node was last seen, the claimants each node refuses, and where each node
 * takes relayed requests.
 */
export class RedisClaimStore {
  private readonly redis: Redis;
  private readonly keys: { claims: string; at: string; seen: string; refused: string; relays: string; epoch: string };

  constructor(redis: Redis, prefix = 'berth:') {
    this.redis = redis;
    this.keys = {
      claims: `${prefix}claims`,
      at: `${prefix}claims:at`,
      seen: `${prefix}seen`,
      refused: `${prefix}claims:refused`,
      relays: `${prefix}relays`,
      epoch: `${prefix}claims:epoch`,
    };
  }

  /** Puts `c` to the fleet; resolves with the claim that holds the key afterwards (possibly another node's). */
  async claim(c: FleetClaim, rules: ClaimRules): Promise<FleetClaim> {
    return (await this.put(c, rules, 'claim')) ?? c;
  }

  /**
   * Puts forward a claimant its own host refused because another node holds the key: it takes the
   * key only when that node has been silent for the grace period. Resolves with the holder
   * afterwards, undefined when nobody holds the key.
   */
  challenge(c: FleetClaim, rules: ClaimRules): Promise<FleetClaim | undefined> {
    return this.put(c, rules, 'challenge');
  }

  private async put(c: FleetClaim, rules: ClaimRules, mode: 'claim' | 'challenge'): Promise<FleetClaim | undefined> {
    const order = creationKey(c.created);
    const text = JSON.stringify({ ...c, order });
    const won = String(
      await this.redis.eval(
        CLAIM,
        3,
        this.keys.claims,
        this.keys.at,
        this.keys.seen,
        c.key,
        text,
        c.node,
        c.daemon,
        order,
        `${c.node}/${c.daemon}/${c.containerId}`,
        rules.contestMs,
        rules.goneMs,
        mode,
      ),
    );
    return won === '' ? undefined : parseFleetClaim(c.key, won);
  }

  /**
   * True once per claims table: when this Redis has none yet (the first host, or an emptied Redis),
   * the one host told so puts back the claims it knows ({@link restore}).
   */
  async fresh(node: string): Promise<boolean> {
    return (await this.redis.set(this.keys.epoch, node, 'NX')) === 'OK';
  }

  /** Puts back claims an emptied Redis lost, as established claims; a claim already there is left alone. */
  async restore(claims: Iterable<FleetClaim>): Promise<void> {
    const args: string[] = [];
    for (const c of claims) args.push(c.key, JSON.stringify({ ...c, order: creationKey(c.created) }));
    if (args.length > 0) await this.redis.eval(RESTORE, 2, this.keys.claims, this.keys.at, ...args);
  }

  /** Drops `node`'s claim on `key` (a claim of another node is left alone). */
  async release(key: string, node: string): Promise<void> {
    await this.redis.eval(RELEASE, 2, this.keys.claims, this.keys.at, key, node);
  }

  /** Every claim of the fleet, by key; malformed entries are skipped. */
  async list(): Promise<Map<string, FleetClaim>> {
    const out = new Map<string, FleetClaim>();
    for (const [key, v] of Object.entries(await this.redis.hgetall(this.keys.claims))) {
      const c = parseFleetClaim(key, v);
      if (c !== undefined) out.set(key, c);
    }
    return out;
  }

  /** Records that `node` is alive (Redis's clock, the one the claim script compares with). */
  async touch(node: string): Promise<void> {
    await this.redis.eval(TOUCH, 1, this.keys.seen, node);
  }

  /** When each node was last seen (epoch ms). */
  async seen(): Promise<Map<string, number>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.seen)).map(([n, t]) => [n, Number(t)]));
  }

  /** Replaces the list of `node`'s claimants refused because another node holds the key. */
  async report(node: string, refused: readonly FleetRefusal[]): Promise<void> {
    if (refused.length === 0) await this.redis.hdel(this.keys.refused, node);
    else await this.redis.hset(this.keys.refused, node, JSON.stringify(refused));
  }

  /** Every node's refused claimants. */
  async refusals(): Promise<Map<string, FleetRefusal[]>> {
    const out = new Map<string, FleetRefusal[]>();
    for (const [node, v] of Object.entries(await this.redis.hgetall(this.keys.refused)))
      out.set(node, parseRefusals(v));
    return out;
  }

  /** Where `node` takes requests relayed by the other hosts (undefined: it takes none). */
  async advertise(node: string, url: string | undefined): Promise<void> {
    if (url === undefined) await this.redis.hdel(this.keys.relays, node);
    else await this.redis.hset(this.keys.relays, node, url);
  }

  /** Every node's relay URL. */
  async relays(): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.relays)));
  }
}

/** A claim read back from Redis or a cache file; undefined when it is not one. */
export function parseFleetClaim(key: string, text: string): FleetClaim | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  const claim = parseStoredClaim(o);
  const node = claimString(o, 'node');
  if (claim === undefined || node === undefined) return undefined;
  return { key, node, ...claim };
}

function parseRefusals(text: string): FleetRefusal[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  const out: FleetRefusal[] = [];
  for (const r of raw as unknown[]) {
    if (typeof r !== 'object' || r === null) continue;
    const o = r as Record<string, unknown>;
    if (
      typeof o['key'] === 'string' &&
      typeof o['daemon'] === 'string' &&
      typeof o['container'] === 'string' &&
      typeof o['element'] === 'string'
    ) {
      out.push({ key: o['key'], daemon: o['daemon'], container: o['container'], element: o['element'] });
    }
  }
  return out;
}
