import { diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { PortAllocator, PortAssignment, PortShare } from '../tcp/port-allocator.ts';
import type { PortStore } from './redis-port-store.ts';
import { SyncQueue } from './sync-queue.ts';

/** Construction options of {@link FleetPorts}. */
export interface FleetPortsOptions {
  readonly allocator: PortAllocator;
  readonly store: PortStore;
  readonly range: { readonly from: number; readonly to: number };
  readonly connected: () => boolean;
  /** Tells the other hosts that the assignments changed. */
  readonly notify: () => void;
  readonly log: Logger;
}

/** Counts for `/health`: assignments the fleet holds, and those only this host knows yet. */
export interface FleetPortsStatus {
  readonly fleet: number;
  readonly pending: number;
}

/** How many reports of moved ports `/diagnostics` keeps (the log has all of them). */
const KEPT = 20;

/**
 * Dynamic ports shared by a fleet. The allocator answers at once from its table (the fleet's
 * assignments as last seen, plus those it made itself); this puts each new assignment to Redis,
 * keeping its port when no other key has it there, and takes the fleet's whole table back in. A
 * port assigned here while Redis was unreachable that the fleet gives to another key moves, and
 * is reported; the fleet's answer wins.
 */
export class FleetPorts implements PortShare {
  private readonly o: FleetPortsOptions;
  private readonly queue = new SyncQueue(() => this.runOnce());
  private failed = false;
  private refused = new Map<string, string>();
  private readonly lost: Diagnostic[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(o: FleetPortsOptions) {
    this.o = o;
    o.allocator.share(this);
  }

  assigned(_a: PortAssignment): void {
    void this.sync();
  }

  /** Reports of ports that moved to the fleet's answer. */
  diagnostics(): readonly Diagnostic[] {
    return this.lost;
  }

  /** Calls `listener` when a port moved (new diagnostics). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  status(): FleetPortsStatus {
    const all = this.o.allocator.list();
    const pending = all.filter((a) => a.source === 'local').length;
    return { fleet: all.length - pending, pending };
  }

  /** Pushes pending assignments and adopts the fleet's table; one at a time; nothing while Redis is unreachable. */
  sync(): Promise<void> {
    return this.queue.run();
  }

  private async runOnce(): Promise<void> {
    if (!this.o.connected()) return;
    try {
      await this.syncOnce();
      if (this.failed) this.o.log.info('fleet: dynamic ports in sync with Redis again');
      this.failed = false;
    } catch (err) {
      if (!this.failed)
        this.o.log.warn(
          { err: errorMessage(err) },
          'fleet: dynamic ports not synchronised with Redis; retried at the next sync',
        );
      this.failed = true;
    }
  }

  private async syncOnce(): Promise<void> {
    const { store, allocator, range } = this.o;
    const refused = new Map<string, string>();
    let wrote = false;
    const pending = allocator.pending();
    if (pending.length > 1) {
      // Those whose port nobody holds in the fleet go first, so that another of them cannot take it.
      const taken = new Set((await store.list()).map((f) => `${f.protocol}:${f.port}`));
      pending.sort(
        (x, y) => Number(taken.has(`${x.protocol}:${x.port}`)) - Number(taken.has(`${y.protocol}:${y.port}`)),
      );
    }
    for (const a of pending) {
      const answer = await store.assign(a.key, a.protocol, range, a.port);
      if ('error' in answer) refused.set(`${a.protocol}:${a.key}`, answer.error);
      else wrote = true;
    }
    const fleet = await store.list();
    // A key the fleet had no port for stays refused while its protocol's range is still full.
    for (const [id, error] of this.refused) {
      const protocol = id.slice(0, id.indexOf(':'));
      const used = fleet.filter((f) => f.protocol === protocol && f.port >= range.from && f.port <= range.to).length;
      if (used >= range.to - range.from + 1 && !refused.has(id)) refused.set(id, error);
    }
    for (const [id, error] of refused) if (!this.refused.has(id)) this.o.log.warn({ key: id }, `fleet: ${error}`);
    this.refused = refused;
    const result = allocator.adopt(fleet, refused);
    for (const message of result.lost) {
      this.o.log.warn(`fleet: dynamic port moved: ${message}`);
      this.lost.push(diagWarning('fleet', 'edge.dynamicPorts', message));
      if (this.lost.length > KEPT) this.lost.shift();
    }
    if (result.lost.length > 0) for (const l of this.listeners) l();
    if (wrote) this.o.notify();
    // Assignments the fleet lost (an emptied Redis) are pending again: put them back at once.
    const pushed = new Set(pending.map((a) => `${a.protocol}:${a.key}`));
    if (
      allocator.pending().some((a) => !pushed.has(`${a.protocol}:${a.key}`) && !refused.has(`${a.protocol}:${a.key}`))
    )
      void this.sync();
  }
}
