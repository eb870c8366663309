import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { RedisConnection } from './redis-connection.ts';

/** A message between fleet hosts: `type` says which part handles it, `node` who sent it. */
export interface FleetMessage {
  readonly type: string;
  readonly node: string;
  readonly [field: string]: unknown;
}

/**
 * One pub/sub channel for the fleet's notifications (new certificates, challenge answers, acks).
 * Notifications make hosts fast; they are never needed for correctness: every consumer also
 * reconciles from Redis on its own schedule and after each reconnect.
 */
export class FleetBus {
  readonly channel: string;
  private readonly conn: RedisConnection;
  private readonly handlers = new Map<string, Set<(m: FleetMessage) => void>>();
  private readonly log: Logger;

  constructor(conn: RedisConnection, prefix: string, log: Logger) {
    this.conn = conn;
    this.channel = `${prefix}events`;
    this.log = log;
    const subscribe = () =>
      conn.sub
        .subscribe(this.channel)
        .catch((err: unknown) =>
          log.debug({ err: errorMessage(err) }, 'fleet: subscribe failed; retried on reconnect'),
        );
    conn.sub.on('ready', () => void subscribe());
    if (conn.sub.status === 'ready') void subscribe();
    conn.sub.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      let m: FleetMessage;
      try {
        m = JSON.parse(text) as FleetMessage;
      } catch {
        return;
      }
      for (const h of this.handlers.get(m.type) ?? []) {
        try {
          h(m);
        } catch (err) {
          this.log.error({ type: m.type, err: errorMessage(err) }, 'fleet: message handler failed');
        }
      }
    });
  }

  /** Handles messages of `type`; returns the unsubscribe function. */
  on(type: string, handler: (m: FleetMessage) => void): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Publishes; resolves false when Redis cannot be reached (the message is simply lost). */
  async publish(m: FleetMessage): Promise<boolean> {
    try {
      await this.conn.cmd.publish(this.channel, JSON.stringify(m));
      return true;
    } catch {
      return false;
    }
  }
}
