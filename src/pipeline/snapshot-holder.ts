import type { RoutingSnapshot } from './snapshot.ts';

/**
 * Holds the current snapshot. Publishing is one assignment; readers call `current()` once per
 * request or connection and keep what they got, so in-flight work finishes on its snapshot.
 */
export class SnapshotHolder {
  private snap: RoutingSnapshot;
  private readonly listeners = new Set<(s: RoutingSnapshot) => void>();

  constructor(initial: RoutingSnapshot) {
    this.snap = initial;
  }

  current(): RoutingSnapshot {
    return this.snap;
  }

  publish(next: RoutingSnapshot): void {
    this.snap = next;
    for (const l of this.listeners) l(next);
  }

  /** Calls `fn` after every publish; returns an unsubscribe function. */
  subscribe(fn: (s: RoutingSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
