import { closest, editDistance } from '../../lib/suggest.ts';
/** "Did you mean …?" for label typos: the closest known name by edit distance, if close enough. */

export { editDistance };

/** The best candidate within a distance of about a third of the word (at least 2), or undefined. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  return closest(word, candidates, Math.max(2, Math.floor(word.length / 3)));
}

/** ` (did you mean "x"?)` or the empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  return s === undefined ? '' : ` (did you mean "${s}"?)`;
}
