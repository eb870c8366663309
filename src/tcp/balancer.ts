/**
 * Smooth weighted round robin (nginx's algorithm): over any window of `sum(weights)` picks each
 * item appears exactly `weight` times, interleaved rather than in bursts. Shared by TCP and UDP
 * services and by weighted services of services. Items with weight 0 are never picked.
 */
export class WeightedRoundRobin<T> {
  readonly #items: readonly T[];
  readonly #weights: Int32Array;
  readonly #current: Int32Array;
  readonly #total: number;

  constructor(items: readonly { item: T; weight: number }[]) {
    const kept = items.filter((i) => i.weight > 0);
    this.#items = kept.map((i) => i.item);
    this.#weights = Int32Array.from(kept.map((i) => Math.min(Math.floor(i.weight), 1_000_000)));
    this.#current = new Int32Array(kept.length);
    this.#total = this.#weights.reduce((a, b) => a + b, 0);
  }

  /** Number of pickable items. */
  get size(): number {
    return this.#items.length;
  }

  /** The next item, or undefined when there is none. */
  next(): T | undefined {
    const n = this.#items.length;
    if (n === 0) return undefined;
    if (n === 1) return this.#items[0];
    let best = 0;
    for (let i = 0; i < n; i++) {
      this.#current[i]! += this.#weights[i]!;
      if (this.#current[i]! > this.#current[best]!) best = i;
    }
    this.#current[best]! -= this.#total;
    return this.#items[best];
  }
}
