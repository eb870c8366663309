/**
 * "Did you mean …?" for every decoder: the closest known name to a misspelt one. One edit
 * distance for all of them; each caller chooses how close counts as a helpful guess.
 */

/** Case-insensitive Levenshtein distance of two short identifiers (Infinity past 64 characters). */
export function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity;
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[y.length]!;
}

/** The candidate nearest to `word` by `distance`, when within `limit`; else undefined. */
export function closest(
  word: string,
  candidates: Iterable<string>,
  limit: number,
  distance: (a: string, b: string) => number = editDistance,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
