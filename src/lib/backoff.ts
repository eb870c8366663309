/**
 * Capped exponential backoff with jitter: 100 ms, 200 ms, … up to `maxMs`, forever.
 * `reset()` after a success starts again from `minMs`.
 */
export class Backoff {
  private attempt = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  constructor(minMs = 100, maxMs = 10_000) {
    this.minMs = minMs;
    this.maxMs = maxMs;
  }

  /** The delay before the next attempt (±20 % jitter so many daemons do not retry in lockstep). */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.min(this.maxMs, Math.round(base * (0.8 + Math.random() * 0.4)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
