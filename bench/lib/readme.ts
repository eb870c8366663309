import { readFileSync, writeFileSync } from 'node:fs';

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/**
 * Replaces the generated part of a README (between the bench:results markers) with `markdown`.
 * Returns false, leaving the file alone, when the markers are missing.
 */
export function writeResultsIntoReadme(path: string, markdown: string): boolean {
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return false;
  writeFileSync(path, `${text.slice(0, a + START.length)}\n\n${markdown}\n\n${text.slice(b)}`);
  return true;
}
