import type { KeyHash } from './limit-key.ts';

/** Slots looked at from a key's home slot before the table counts as full for that key. */
const MAX_PROBE = 64;
/** Header: [0] insertion lock, [1] keys refused for want of a free slot. */
const HEADER_INTS = 16;
/** Per slot: lock, kind, h1, h2, count, (pad), then the bucket's `fullAt` as a float64. */
const SLOT_INTS = 8;
const SLOT_BYTES = SLOT_INTS * 4;
const LOCK = 0;
const KIND = 1;
const H1 = 2;
const H2 = 3;
const COUNT = 4;
/** Never used: the end of every probe chain (a slot, once used, stays part of its chains). */
const NEVER = 0;
const BUCKET = 1;
const COUNTER = 2;
/** A lock held this long belongs to a thread that died inside it (a critical section is ~100 ns). */
const STEAL_AFTER_MS = 100;

/** `acquire` found no slot for the key (the table is full around it): admitted without counting. */
export const UNTRACKED = -2;
/** `acquire` refused: the key is at its amount. */
export const REFUSED = -1;

/**
 * Process-wide monotonic milliseconds, equal in every thread: `performance.now()` counts from each
 * thread's own start, so it is moved onto the (process-wide) monotonic clock once per thread.
 */
const clockBase = Number(process.hrtime.bigint() / 1000n) / 1000 - performance.now();
function sharedNow(): number {
  return clockBase + performance.now();
}

/**
 * A fixed-size hash table in a SharedArrayBuffer holding the state of the limit middlewares
 * (token buckets of `rateLimit`, in-flight counters of `inFlightReq` / `inFlightConn`), so every
 * data-plane thread of the process counts against the same numbers.
 *
 * Open addressing with linear probing on the key's first hash; a slot stores both hashes, so
 * keys that share a home slot (or the first hash) keep separate entries. Each slot has a spin
 * lock (Atomics.compareExchange) guarding its fields. A key is written into a slot only under the
 * table's insertion lock after a probe found it absent, so a key never lives in two slots. A slot
 * is free again once idle — a bucket refilled to `burst`, a counter back at 0 — and is reused by
 * the next new key probing past it; no sweeper runs.
 *
 * Full table: a new key that finds no idle slot within {@link MAX_PROBE} slots of its home is not
 * limited (a bucket admits, a counter admits without counting) and `overflows` counts it. Failing
 * open keeps many sources from denying service to everyone; a request is never held and nothing
 * throws. Memory is fixed at `32 × slots` bytes (2 MiB for the default 65,536 slots).
 *
 * `held` (optional) is the calling thread's ledger: what it holds in each counter slot, so the
 * counts of a thread that ended without releasing them can be given back ({@link releaseHeld}).
 */
export class SharedLimitTable {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly held: Int32Array | undefined;
  private readonly mask: number;
  readonly slots: number;

  constructor(buffer: SharedArrayBuffer, held?: SharedArrayBuffer) {
    this.slots = (buffer.byteLength - HEADER_INTS * 4) / SLOT_BYTES;
    if (!Number.isInteger(this.slots) || this.slots < 1 || (this.slots & (this.slots - 1)) !== 0)
      throw new RangeError('shared limit table: buffer is not a table (see SharedLimitTable.allocate)');
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.mask = this.slots - 1;
    this.held = held ? new Int32Array(held) : undefined;
    if (this.held && this.held.length !== this.slots) throw new RangeError('shared limit table: ledger size mismatch');
  }

  /** A zeroed buffer for a table of `slots` slots (a power of two). */
  static allocate(slots: number): SharedArrayBuffer {
    if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0)
      throw new RangeError(`shared limit table: slots must be a power of two, got ${slots}`);
    return new SharedArrayBuffer(HEADER_INTS * 4 + slots * SLOT_BYTES);
  }

  /** A zeroed ledger for one thread using a table of `slots` slots. */
  static allocateLedger(slots: number): SharedArrayBuffer {
    return new SharedArrayBuffer(slots * 4);
  }

  /** New keys not limited because the table had no free slot for them. */
  get overflows(): number {
    return Atomics.load(this.i32, 1);
  }

  /**
   * Token bucket (Traefik's `rateLimit`): takes one token from `key`'s bucket, which holds up to
   * `burst` tokens and refills at `ratePerMs`. Returns 0 to go now; a positive delay (ms, at most
   * `maxDelayMs`) to go after it, the token taken; a negative number to refuse, the bucket
   * untouched and the wait until a token `-result` ms. The bucket is stored as the time it is
   * full again, so it needs one number and is idle (free) once that time has passed.
   */
  take(key: KeyHash, burst: number, ratePerMs: number, maxDelayMs: number): number {
    const s = this.find(key, BUCKET);
    if (s < 0) return 0;
    // Read under the slot's lock: a thread that waited for it sees time after its holder's.
    const now = sharedNow();
    const at = (HEADER_INTS + s * SLOT_INTS) / 2 + 3;
    const fullAt = this.f64[at]!;
    const tokens = (fullAt > now ? burst - (fullAt - now) * ratePerMs : burst) - 1;
    let result = 0;
    if (tokens < 0) {
      const delay = -tokens / ratePerMs;
      result = delay > maxDelayMs ? -delay : delay;
    }
    if (result >= 0) this.f64[at] = now + (burst - tokens) / ratePerMs;
    this.unlock(s);
    return result;
  }

  /**
   * In-flight counter: counts one more for `key` unless it is at `amount`. Returns the slot to
   * give to {@link release} when that one ends, {@link REFUSED}, or {@link UNTRACKED} (admitted
   * uncounted: the table is full around the key).
   */
  acquire(key: KeyHash, amount: number): number {
    const s = this.find(key, COUNTER);
    if (s < 0) return UNTRACKED;
    const at = HEADER_INTS + s * SLOT_INTS + COUNT;
    const n = this.i32[at]!;
    if (n >= amount) {
      this.unlock(s);
      return REFUSED;
    }
    this.i32[at] = n + 1;
    this.unlock(s);
    if (this.held) Atomics.add(this.held, s, 1);
    return s;
  }

  /** Gives back one count taken by `acquire` (which returned `slot`); other values are ignored. */
  release(slot: number): void {
    if (slot < 0) return;
    this.decrement(slot, 1);
    if (this.held) Atomics.sub(this.held, slot, 1);
  }

  /** The current count of `key` (0 when it has no entry). */
  count(key: KeyHash): number {
    const s = this.lookup(key, COUNTER);
    return s < 0 ? 0 : Atomics.load(this.i32, HEADER_INTS + s * SLOT_INTS + COUNT);
  }

  /**
   * Gives back every count this table's ledger holds and empties the ledger: called for a thread
   * that ended (crashed, was terminated) with requests or connections still counted.
   */
  releaseHeld(): void {
    const held = this.held;
    if (!held) return;
    for (let s = 0; s < held.length; s++) {
      const n = Atomics.exchange(held, s, 0);
      if (n > 0) this.decrement(s, n);
    }
  }

  private decrement(s: number, n: number): void {
    const at = HEADER_INTS + s * SLOT_INTS + COUNT;
    this.lock(s);
    this.i32[at] = Math.max(0, this.i32[at]! - n);
    this.unlock(s);
  }

  /** The slot of `key` (unlocked), or -1. */
  private lookup(key: KeyHash, kind: number): number {
    const i32 = this.i32;
    for (let p = 0, s = key.h1 & this.mask; p < MAX_PROBE && p < this.slots; p++, s = (s + 1) & this.mask) {
      const b = HEADER_INTS + s * SLOT_INTS;
      // Unlocked reads: an int32 never tears, and whatever is found is checked again under its lock.
      const k = i32[b + KIND];
      if (k === NEVER) return -1;
      if (k === kind && i32[b + H1] === key.h1 && i32[b + H2] === key.h2) return s;
    }
    return -1;
  }

  /** The slot of `key`, created if absent, returned locked; -1 when the table has no room. */
  private find(key: KeyHash, kind: number): number {
    for (;;) {
      const s = this.lookup(key, kind);
      if (s >= 0) {
        this.lock(s);
        if (this.holds(s, key, kind)) return s;
        // Reused for another key between the probe and the lock: probe again.
        this.unlock(s);
        continue;
      }
      return this.insert(key, kind);
    }
  }

  private holds(s: number, key: KeyHash, kind: number): boolean {
    const b = HEADER_INTS + s * SLOT_INTS;
    return this.i32[b + KIND] === kind && this.i32[b + H1] === key.h1 && this.i32[b + H2] === key.h2;
  }

  /** Under the insertion lock: keys cannot move, so a second probe is exact. */
  private insert(key: KeyHash, kind: number): number {
    this.lockAt(0);
    try {
      const found = this.lookup(key, kind);
      if (found >= 0) {
        this.lock(found);
        return found;
      }
      const i32 = this.i32;
      for (let p = 0, s = key.h1 & this.mask; p < MAX_PROBE && p < this.slots; p++, s = (s + 1) & this.mask) {
        const b = HEADER_INTS + s * SLOT_INTS;
        this.lock(s);
        if (this.idle(b)) {
          i32[b + H1] = key.h1;
          i32[b + H2] = key.h2;
          i32[b + COUNT] = 0;
          this.f64[b / 2 + 3] = 0;
          Atomics.store(i32, b + KIND, kind);
          return s;
        }
        this.unlock(s);
      }
      Atomics.add(i32, 1, 1);
      return -1;
    } finally {
      this.unlockAt(0);
    }
  }

  /** Free for a new key: never used, a bucket full again, or a counter at 0 (slot locked). */
  private idle(b: number): boolean {
    const kind = this.i32[b + KIND];
    if (kind === NEVER) return true;
    if (kind === COUNTER) return this.i32[b + COUNT] === 0;
    return this.f64[b / 2 + 3]! <= sharedNow();
  }

  private lock(s: number): void {
    this.lockAt(HEADER_INTS + s * SLOT_INTS + LOCK);
  }

  private unlock(s: number): void {
    this.unlockAt(HEADER_INTS + s * SLOT_INTS + LOCK);
  }

  private lockAt(at: number): void {
    if (Atomics.compareExchange(this.i32, at, 0, 1) === 0) return;
    this.contended(at);
  }

  /**
   * The holder may be descheduled (more threads than cores): spin a little, then sleep in short
   * waits. A lock still held after {@link STEAL_AFTER_MS} was left by a thread that ended inside a
   * critical section; it is taken over rather than waiting forever.
   */
  private contended(at: number): void {
    const i32 = this.i32;
    for (let i = 0; i < 200; i++) if (Atomics.compareExchange(i32, at, 0, 1) === 0) return;
    const start = performance.now();
    for (;;) {
      Atomics.wait(i32, at, 1, 0.05);
      if (Atomics.compareExchange(i32, at, 0, 1) === 0) return;
      if (performance.now() - start > STEAL_AFTER_MS) return;
    }
  }

  private unlockAt(at: number): void {
    Atomics.store(this.i32, at, 0);
  }
}
