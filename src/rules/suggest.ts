import { closest, editDistance } from '../lib/suggest.ts';

/**
 * Finds the known name closest to a misspelt one ("Hots" → "Host"), or undefined when nothing is
 * close enough to be a helpful guess. Case differences alone, and prefixes, count as close.
 */
export function suggestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const exact = known.find((k) => k.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  const distance = (a: string, b: string): number => {
    const c = b.toLowerCase();
    return c.startsWith(lower) || lower.startsWith(c) ? 1 : editDistance(a, b);
  };
  return closest(name, known, Math.max(2, Math.floor(name.length / 3)), distance);
}
