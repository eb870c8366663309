/**
 * Smooth weighted round robin (nginx's algorithm), the one berth uses everywhere: HTTP servers of a
 * load balancer, weighted services of services, TCP and UDP servers. Over any window of
 * `sum(weights)` picks each item appears exactly `weight` times, interleaved rather than in bursts.
 * Items with weight 0 are never picked; `next(usable)` skips the items that cannot serve now
 * (unhealthy servers, unavailable services) and spreads over the others as if only they existed.
 */
export class WeightedRoundRobin<T> {
  /** The items, in configuration order (weight 0 included: they are listed, never picked). */
  readonly items: readonly T[];
  private readonly weights: Int32Array;
  private readonly current: Int32Array;
  private readonly total: number;
  /** The only pickable item, when there is exactly one: no arithmetic needed. */
  private readonly single: number;

  constructor(items: readonly { readonly item: T; readonly weight: number }[]) {
    this.items = items.map((i) => i.item);
    this.weights = Int32Array.from(items.map((i) => (i.weight > 0 ? Math.min(Math.floor(i.weight), 1_000_000) : 0)));
    this.current = new Int32Array(items.length);
    let total = 0;
    let pickable = -1;
    for (let i = 0; i < this.weights.length; i++) {
      if (this.weights[i]! <= 0) continue;
      total += this.weights[i]!;
      pickable = pickable === -1 ? i : -2;
    }
    this.total = total;
    this.single = pickable;
  }

  /** Number of pickable items (weight above 0). */
  get size(): number {
    let n = 0;
    for (const w of this.weights) if (w > 0) n++;
    return n;
  }

  /** The next item among those `usable` says can serve (all by default), or undefined when none can. */
  next(usable?: (item: T) => boolean): T | undefined {
    const items = this.items;
    if (this.single >= 0) {
      const only = items[this.single]!;
      return usable === undefined || usable(only) ? only : undefined;
    }
    const w = this.weights;
    const cur = this.current;
    let best = -1;
    let total = 0;
    for (let i = 0; i < items.length; i++) {
      if (w[i]! <= 0 || (usable !== undefined && !usable(items[i]!))) continue;
      cur[i]! += w[i]!;
      total += w[i]!;
      if (best < 0 || cur[i]! > cur[best]!) best = i;
    }
    if (best < 0) return undefined;
    cur[best]! -= usable === undefined ? this.total : total;
    return items[best];
  }
}
