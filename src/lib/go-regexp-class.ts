/**
 * Character sets of Go's regexp syntax as code point ranges: POSIX classes, Perl classes (`\d`, `\s`,
 * `\w` and their negations, ASCII-only in Go) and case folding. The translator turns every class into
 * ranges so that negation and `(?i)` can be computed here instead of leaning on JavaScript's flags,
 * whose meaning differs from Go's (`\s` includes `\v` and Unicode spaces in JavaScript, not in Go).
 */

/** Inclusive code point ranges. */
export type Ranges = [number, number][];

const r = (lo: string, hi: string = lo): [number, number] => [lo.charCodeAt(0), hi.charCodeAt(0)];

/** `[[:name:]]` classes, as Go defines them (ASCII only). */
export const POSIX_CLASSES: Readonly<Record<string, Ranges>> = {
  alnum: [r('0', '9'), r('A', 'Z'), r('a', 'z')],
  alpha: [r('A', 'Z'), r('a', 'z')],
  ascii: [[0x00, 0x7f]],
  blank: [r('\t'), r(' ')],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [r('0', '9')],
  graph: [r('!', '~')],
  lower: [r('a', 'z')],
  print: [r(' ', '~')],
  punct: [r('!', '/'), r(':', '@'), r('[', '`'), r('{', '~')],
  space: [r('\t', '\r'), r(' ')],
  upper: [r('A', 'Z')],
  word: [r('0', '9'), r('A', 'Z'), r('a', 'z'), r('_')],
  xdigit: [r('0', '9'), r('A', 'F'), r('a', 'f')],
};

/** Go's Perl classes: `\d`, `\s` (`[\t\n\f\r ]`, no `\v`), `\w`; upper case is the complement. */
export const PERL_CLASSES: Readonly<Record<string, Ranges>> = {
  d: [r('0', '9')],
  s: [r('\t', '\n'), r('\f', '\r'), r(' ')],
  w: [r('0', '9'), r('A', 'Z'), r('_'), r('a', 'z')],
};

/** The largest code point a class may hold: classes are matched on UTF-16 code units. */
export const MAX_CLASS_CODE = 0xffff;

/** Sorted, merged copy. */
export function normalizeRanges(ranges: Ranges): Ranges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Every code unit (up to {@link MAX_CLASS_CODE}) not in `ranges`. */
export function complementRanges(ranges: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of normalizeRanges(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CLASS_CODE) out.push([next, MAX_CLASS_CODE]);
  return out;
}

/** Go's simple case folding orbits that leave ASCII: K ↔ KELVIN SIGN, S ↔ LONG S. */
const SPECIAL_FOLDS: Readonly<Record<number, readonly number[]>> = {
  0x4b: [0x212a],
  0x6b: [0x212a],
  0x212a: [0x4b, 0x6b],
  0x53: [0x17f],
  0x73: [0x17f],
  0x17f: [0x53, 0x73],
};

/** The other cases of one code point (empty when it has none). */
export function foldsOf(cp: number): number[] {
  const out = new Set<number>();
  if (cp < 0x10000) {
    const ch = String.fromCharCode(cp);
    for (const other of [ch.toLowerCase(), ch.toUpperCase()]) {
      if (other.length === 1 && other !== ch) out.add(other.charCodeAt(0));
    }
  }
  for (const extra of SPECIAL_FOLDS[cp] ?? []) out.add(extra);
  for (const o of [...out]) for (const extra of SPECIAL_FOLDS[o] ?? []) if (extra !== cp) out.add(extra);
  return [...out];
}

/** Ranges wider than this are folded on their ASCII part only: they hold both cases already. */
const FOLD_SCAN_LIMIT = 512;

/** `ranges` with the other case of every letter added, as `(?i)` asks. */
export function foldRanges(ranges: Ranges): Ranges {
  const out: Ranges = [...ranges];
  for (const [lo, hi] of ranges) {
    // ASCII letters shift by 32 as whole ranges.
    for (const [a, z, shift] of [
      [0x41, 0x5a, 32],
      [0x61, 0x7a, -32],
    ] as const) {
      const from = Math.max(lo, a);
      const to = Math.min(hi, z);
      if (from <= to) out.push([from + shift, to + shift]);
    }
    if (hi - lo <= FOLD_SCAN_LIMIT) {
      for (let cp = lo; cp <= hi; cp++) {
        if ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) {
          for (const extra of SPECIAL_FOLDS[cp] ?? []) out.push([extra, extra]);
          continue;
        }
        if (cp < 0x80) continue;
        for (const f of foldsOf(cp)) out.push([f, f]);
      }
    }
  }
  return normalizeRanges(out);
}

const hex4 = (n: number): string => `\\u${n.toString(16).padStart(4, '0')}`;

/** A JavaScript class body for the ranges (every bound written as `\uXXXX`, nothing to escape). */
export function rangesSource(ranges: Ranges): string {
  let s = '';
  for (const [lo, hi] of ranges) s += lo === hi ? hex4(lo) : `${hex4(lo)}-${hex4(hi)}`;
  return s;
}
