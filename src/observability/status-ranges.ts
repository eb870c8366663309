/** A set of HTTP status codes given as Traefik writes them: `"404"`, `"500-599"`. */
export interface StatusRanges {
  has(status: number): boolean;
  /** Entries that are neither a code nor a range (the static config reports them first). */
  readonly invalid: readonly string[];
}

/**
 * Parses status codes and ranges. Invalid entries are collected, not thrown: the static config
 * decoder has already refused them, so here they can only be ignored.
 */
export function parseStatusRanges(list: readonly string[]): StatusRanges {
  const ranges: [number, number][] = [];
  const invalid: string[] = [];
  for (const raw of list) {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(String(raw));
    if (!m) {
      invalid.push(String(raw));
      continue;
    }
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo) {
      invalid.push(String(raw));
      continue;
    }
    ranges.push([lo, hi]);
  }
  return {
    invalid,
    has(status) {
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i]!;
        if (status >= r[0] && status <= r[1]) return true;
      }
      return false;
    },
  };
}
