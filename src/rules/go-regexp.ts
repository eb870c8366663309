import { setFlagsFromString } from 'node:v8';

/**
 * A compiled regexp, or why the expression was refused (never thrown). `bounded` tells whether the
 * regexp falls back to linear-time matching when it backtracks too much (see `linearFallback`).
 */
export type RegexpResult =
  | { readonly ok: true; readonly re: RegExp; readonly bounded: boolean }
  | { readonly ok: false; readonly error: string };

/**
 * Whether V8 switches a regexp to its linear-time engine after excessive backtracking. Traefik's
 * regexps are Go's RE2, which never backtracks; with a plain backtracking engine a request path could
 * hang the event loop on a rule such as PathRegexp(`^(a+)+$`). The linear engine is much slower on
 * ordinary input, so it is used only as this fallback. Both sit behind V8 flags, switched on once here.
 */
export const linearFallback: boolean = enableLinearFallback();

function enableLinearFallback(): boolean {
  try {
    setFlagsFromString('--enable-experimental-regexp-engine');
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  } catch {
    return false;
  }
  return canRunLinear('a', '');
}

/** Whether the linear engine accepts the pattern (it refuses `i`, large counted repetitions, …). */
function canRunLinear(pattern: string, flags: string): boolean {
  try { return new RegExp(pattern, flags + 'l') instanceof RegExp; } catch { return false; }
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

/**
 * Compiles a Go (RE2) regular expression as JavaScript, for HostRegexp, PathRegexp, HeaderRegexp,
 * QueryRegexp and HostSNIRegexp. Matching is unanchored, like Go's `MatchString`. Translated:
 * leading `(?i)`/`(?s)`/`(?m)` flags, `(?P<name>…)`, `\A`, `\z` and `[[:alpha:]]` classes.
 * Lookarounds and back-references are refused as in Go. `(?i)` is rewritten as ASCII case classes
 * where possible, because the linear engine (the backtracking fallback) has no case-insensitive mode.
 */
export function compileGoRegexp(source: string): RegexpResult {
  let flags = '';
  let body = source;
  const lead = /^\(\?([imsU]+)\)/.exec(body);
  if (lead) {
    const f = lead[1] as string;
    if (f.includes('U')) return { ok: false, error: 'the (?U) flag is not supported' };
    for (const ch of new Set(f)) flags += ch;
    body = body.slice(lead[0].length);
  }
  const fold = flags.includes('i');
  const plain = translate(body, false, flags.includes('m'));
  if (typeof plain !== 'string') return plain;
  if (linearFallback) {
    const folded = fold ? translate(body, true, flags.includes('m')) : plain;
    const linearFlags = flags.replace('i', '');
    if (typeof folded === 'string' && canRunLinear(folded, linearFlags)) {
      return { ok: true, re: new RegExp(folded, linearFlags), bounded: true };
    }
  }
  try {
    return { ok: true, re: new RegExp(plain, flags), bounded: false };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function isLetter(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

function swapCase(ch: string): string {
  return ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
}

/**
 * Rewrites the Go-only constructs, walking escapes and character classes once. With `fold`, ASCII
 * letters become case classes (`a` → `[aA]`, `[a-f]` → `[a-fA-F]`).
 */
function translate(src: string, fold: boolean, multiline: boolean): string | { ok: false; error: string } {
  let out = '';
  let cls = ''; // the current character class body, swapped-case copy appended when folding
  let swapped = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i] as string;
    if (ch === '\\') {
      const next = src[i + 1];
      if (next === undefined) return { ok: false, error: 'trailing backslash' };
      if ((next >= '1' && next <= '9') || next === 'k') {
        return { ok: false, error: 'back-references are not supported (Go regexp syntax)' };
      }
      i++;
      if (inClass) { cls += ch + next; swapped += ch + next; continue; }
      if (next === 'A') out += '^';
      else if (next === 'z') out += multiline ? '(?![\\s\\S])' : '$';
      else out += ch + next;
      continue;
    }
    if (inClass) {
      if (ch === '[' && src[i + 1] === ':') {
        const end = src.indexOf(':]', i + 2);
        const name = end === -1 ? '' : src.slice(i + 2, end);
        const posix = Object.hasOwn(POSIX_CLASSES, name) ? POSIX_CLASSES[name] : undefined;
        if (posix === undefined) return { ok: false, error: `invalid character class range [:${name}:]` };
        cls += posix;
        swapped += posix;
        i = end + 1;
        continue;
      }
      if (ch === ']') {
        out += cls + (fold ? swapped : '') + ']';
        inClass = false;
        continue;
      }
      cls += ch;
      swapped += isLetter(ch) ? swapCase(ch) : ch;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      out += ch;
      cls = '';
      swapped = '';
      if (src[i + 1] === '^') { out += '^'; i++; }
      if (src[i + 1] === ']') { cls = swapped = '\\]'; i++; } // Go: a leading ']' is a literal
      continue;
    }
    if (ch === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2, i + 4);
      if (rest[0] === '=' || rest[0] === '!' || rest === '<=' || rest === '<!') {
        return { ok: false, error: 'lookarounds are not supported (Go regexp syntax)' };
      }
      const named = src.startsWith('?P<', i + 1) ? 3 : src.startsWith('?<', i + 1) ? 2 : 0;
      if (named) {
        const close = src.indexOf('>', i);
        if (close === -1) return { ok: false, error: 'unterminated group name' };
        out += '(?<' + src.slice(i + 1 + named, close + 1);
        i = close;
        continue;
      }
    }
    out += fold && isLetter(ch) ? '[' + ch + swapCase(ch) + ']' : ch;
  }
  if (inClass) return { ok: false, error: 'missing closing ]' };
  return out;
}
