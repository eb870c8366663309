import { readFileSync } from 'node:fs';
import type { Redis, RedisOptions } from 'ioredis';
import type { FleetConfig } from '../config/static/types.ts';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';

/** Connection state shown by `/health`, the dashboard and `/metrics`. */
export interface ConnectionState {
  connected: boolean;
  /** Why it is not connected (the last error). */
  lastError?: string;
  /** When it was last connected or disconnected (epoch ms). */
  since: number;
}

/**
 * The fleet's two Redis connections (commands and pub/sub), from `fleet.redis` or Sentinel.
 * Commands never queue while disconnected (enableOfflineQueue off): a host without Redis answers
 * at once from what it has instead of waiting. ioredis is loaded only here, only for a fleet.
 */
export class RedisConnection {
  readonly cmd: Redis;
  readonly sub: Redis;
  readonly state: ConnectionState = { connected: false, since: Date.now() };
  /** Whether writes should wait for a replica (Sentinel setups: a failover must not lose a lease). */
  readonly replicated: boolean;
  private readonly listeners = new Set<(connected: boolean) => void>();
  private readonly log: Logger;

  private constructor(cmd: Redis, sub: Redis, replicated: boolean, log: Logger) {
    this.cmd = cmd;
    this.sub = sub;
    this.replicated = replicated;
    this.log = log;
    cmd.on('ready', () => this.set(true));
    cmd.on('error', (err: Error) => {
      this.state.lastError = errorMessage(err);
    });
    cmd.on('close', () => this.set(false));
    cmd.on('end', () => this.set(false));
  }

  /** Connects (giving up waiting after `waitMs`; it keeps trying in the background). */
  static async open(cfg: FleetConfig, env: NodeJS.ProcessEnv, log: Logger, waitMs = 2000): Promise<RedisConnection> {
    const { Redis: RedisClass } = await import('ioredis');
    const opts = redisOptions(cfg, env);
    const cmd = cfg.redis && !cfg.sentinels?.length ? new RedisClass(cfg.redis, opts) : new RedisClass(opts);
    const sub = cmd.duplicate();
    const conn = new RedisConnection(cmd, sub, (cfg.sentinels?.length ?? 0) > 0, log);
    sub.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, waitMs);
      t.unref();
      cmd.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
    });
    if (!conn.state.connected)
      log.warn(
        { err: conn.state.lastError },
        'fleet: Redis is not reachable; serving from the local acme.json until it is',
      );
    return conn;
  }

  /** Called with true/false whenever the command connection comes up or goes down. */
  onState(listener: (connected: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  private set(connected: boolean): void {
    if (this.state.connected === connected) return;
    this.state.connected = connected;
    this.state.since = Date.now();
    if (connected) delete this.state.lastError;
    this.log.info(
      { connected, err: this.state.lastError },
      connected ? 'fleet: Redis connected' : 'fleet: Redis connection lost',
    );
    for (const l of this.listeners) l(connected);
  }
}

/** ioredis options: credentials from the URL, else `REDIS_PASSWORD` / `REDIS_PASSWORD_FILE`. */
export function redisOptions(cfg: FleetConfig, env: NodeJS.ProcessEnv): Omit<RedisOptions, 'replyMapping'> {
  const password = passwordFromEnv(env);
  const base: Omit<RedisOptions, 'replyMapping'> = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // A Redis that accepts connections but does not answer must not hold up a start or a sync.
    commandTimeout: 5000,
    // Reconnect forever, quickly at first: an outage ends with the first successful attempt.
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: false,
  };
  if (cfg.sentinels?.length) {
    const url = cfg.redis ? new URL(cfg.redis) : undefined;
    return {
      ...base,
      sentinels: cfg.sentinels.map((s) => {
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s.trim());
        if (!m) throw new BerthError(ErrorCodes.CONFIG_INVALID, `fleet.sentinels: "${s}" is not host:port`);
        return { host: m[1]!, port: Number(m[2]) };
      }),
      name: cfg.masterName!,
      ...(url?.password ? { password: decodeURIComponent(url.password) } : password ? { password } : {}),
      ...(url && url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
      sentinelRetryStrategy: (times) => Math.min(100 * times, 1000),
    };
  }
  const url = new URL(cfg.redis!);
  return { ...base, ...(!url.password && password ? { password } : {}) };
}

function passwordFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  if (env['REDIS_PASSWORD']) return env['REDIS_PASSWORD'];
  const file = env['REDIS_PASSWORD_FILE'];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new BerthError(
      ErrorCodes.CONFIG_INVALID,
      `fleet: cannot read REDIS_PASSWORD_FILE ${file}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}
