import { setFlagsFromString } from 'node:v8';
import { GoRegexpTranslator } from './go-regexp-translator.ts';

/**
 * Traefik's configuration carries Go (RE2) regular expressions: the *Regexp rule matchers,
 * redirectRegex, replacePathRegex, stripPrefixRegex, the headers middleware's origin list and
 * forwardAuth's header filter. This is the one translator from Go's syntax to JavaScript, with Go's
 * meaning where the two differ, and the guard against catastrophic backtracking.
 */

/**
 * A compiled regexp, or why the expression was refused (never thrown). `bounded` tells whether the
 * regexp falls back to linear-time matching when it backtracks too much (see `linearFallback`).
 */
export type RegexpResult =
  | { readonly ok: true; readonly re: RegExp; readonly bounded: boolean }
  | { readonly ok: false; readonly error: string };

/** How a caller wants the expression compiled. */
export interface GoRegexpOptions {
  /** Adds the `g` flag, for callers that walk every match (`goReplaceAll` does not need it). */
  readonly global?: boolean;
  /** Case-insensitive as if the expression began with `(?i)` (header names, which Go canonicalises). */
  readonly ignoreCase?: boolean;
}

/**
 * Whether V8 switches a regexp to its linear-time engine after excessive backtracking. Go's regexps
 * never backtrack; with a plain backtracking engine a request path could hang the event loop on a rule
 * such as PathRegexp(`^(a+)+$`). The linear engine is much slower on ordinary input, so it is used
 * only as this fallback. Both sit behind V8 flags, switched on once here.
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

/** Whether the linear engine accepts the pattern (it refuses lookarounds, large counted repetitions, …). */
function canRunLinear(pattern: string, flags: string): boolean {
  try {
    return new RegExp(pattern, flags + 'l') instanceof RegExp;
  } catch {
    return false;
  }
}

/**
 * Compiles a Go regular expression as JavaScript. Matching is unanchored, like Go's `MatchString`.
 * Go's meaning is kept where JavaScript's differs: flags `(?i)`, `(?s)`, `(?m)` anywhere (scoped to
 * their group), `.` not matching only `\n`, `\s` without `\v`, ASCII POSIX classes (`[[:alpha:]]`,
 * `[[:^digit:]]`), `\A`, `\z`, `\Q…\E`, `\x{…}`, octal escapes, `(?P<name>…)`, literal `{`, and the
 * errors Go reports (unknown escapes such as `\u`, lookarounds, back-references, `(?U)`, repeat counts
 * over 1000). Unicode classes (`\pL`) are refused rather than silently matching a literal `p`.
 */
export function compileGoRegexp(source: string, opts: GoRegexpOptions = {}): RegexpResult {
  if (typeof source !== 'string') return { ok: false, error: 'expected a string' };
  const translated = new GoRegexpTranslator(source, opts.ignoreCase === true).run();
  if (typeof translated !== 'string') return { ok: false, error: translated.error };
  const flags = opts.global ? 'g' : '';
  try {
    const re = new RegExp(translated, flags);
    return { ok: true, re, bounded: linearFallback && canRunLinear(translated, flags) };
  } catch (err) {
    return { ok: false, error: (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') };
  }
}
