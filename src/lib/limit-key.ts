/** A key as the shared limit table stores it: two independent 32-bit hashes of the full key. */
export interface KeyHash {
  readonly h1: number;
  readonly h2: number;
}

/**
 * Hashes `scope \0 source` keys for the shared limit table without building the string per
 * request: the scope (middleware type and name) is hashed once, each request only hashes its
 * source. Two different 32-bit hashes are kept (FNV-1a and a multiply-rotate hash, each
 * finalised with murmur3's mixer): the first picks the slot, both together tell keys apart, so
 * two keys merge only if all 64 bits collide. `of` fills `h1`/`h2` in place (no allocation); the
 * result is read at once, before the next call.
 */
export class LimitKey implements KeyHash {
  h1 = 0;
  h2 = 0;
  private readonly s1: number;
  private readonly s2: number;
  /** The last source hashed: a client's requests often come in a row (keep-alive). */
  private last = '';

  constructor(scope: string) {
    let a = 0x811c9dc5;
    let b = 0x9747b28c;
    for (let i = 0; i < scope.length; i++) {
      const c = scope.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(rotl(b ^ c, 13), 0x5bd1e995) + 0x6b64e654;
    }
    // The separator between scope and source: `a\0bc` and `ab\0c` stay apart.
    this.s1 = Math.imul(a, 0x01000193);
    this.s2 = Math.imul(rotl(b, 13), 0x5bd1e995) + 0x6b64e654;
  }

  /** Hashes `source` under this key's scope into `h1`/`h2`; returns this object. */
  of(source: string): this {
    if (source === this.last && source !== '') return this;
    let a = this.s1;
    let b = this.s2;
    for (let i = 0; i < source.length; i++) {
      const c = source.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(rotl(b ^ c, 13), 0x5bd1e995) + 0x6b64e654;
    }
    this.h1 = fmix32(a ^ source.length);
    this.h2 = fmix32(b ^ source.length);
    this.last = source;
    return this;
  }
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** murmur3's finaliser: every input bit reaches every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
