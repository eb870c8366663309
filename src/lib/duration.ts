/**
 * Traefik durations: Go duration strings (`100ms`, `5s`, `1m30s`, `1h`) or a bare number of seconds
 * (`30`, as Traefik accepts for most timeouts). Returns milliseconds, or undefined when unparsable.
 */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

export function parseDuration(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const s = value.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    pos = PART.lastIndex;
  }
  return total;
}

/** `parseDuration` with a fallback for absent or invalid input. */
export function durationOr(value: string | number | undefined, fallbackMs: number): number {
  return parseDuration(value) ?? fallbackMs;
}
