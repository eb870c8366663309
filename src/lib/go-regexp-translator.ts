import {
  complementRanges,
  foldRanges,
  foldsOf,
  MAX_CLASS_CODE,
  normalizeRanges,
  PERL_CLASSES,
  POSIX_CLASSES,
  rangesSource,
  type Ranges,
} from './go-regexp-class.ts';

/** Go refuses repetition counts above this (`a{1001}`: invalid repeat count). */
const MAX_REPEAT = 1000;

interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
}

/** Why a Go expression was refused. */
export type Failure = { error: string };

const isAsciiLetter = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isWordChar = (c: string): boolean => isAsciiLetter(c) || (c >= '0' && c <= '9') || c === '_';
const isOctal = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '7';
const JS_SPECIAL = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}', '/', '-']);

/**
 * One left-to-right pass over a Go expression, keeping a stack of flag scopes (one per group).
 * Apart from `compileGoRegexp` so the syntax translation, the bulk of the work, reads on its own.
 */
export class GoRegexpTranslator {
  readonly #src: string;
  #i = 0;
  #out = '';
  readonly #scopes: Flags[];

  constructor(src: string, ignoreCase: boolean) {
    this.#src = src;
    this.#scopes = [{ i: ignoreCase, s: false, m: false }];
  }

  get #flags(): Flags {
    return this.#scopes[this.#scopes.length - 1] as Flags;
  }

  run(): string | Failure {
    const src = this.#src;
    while (this.#i < src.length) {
      const ch = src[this.#i] as string;
      const r = this.#step(ch);
      if (r !== undefined) return r;
    }
    if (this.#scopes.length > 1) return { error: `missing closing ): \`${src}\`` };
    return this.#out;
  }

  #step(ch: string): Failure | undefined {
    const f = this.#flags;
    switch (ch) {
      case '\\':
        return this.#escape();
      case '[':
        return this.#class();
      case '(':
        return this.#open();
      case ')':
        if (this.#scopes.length === 1) return { error: `unexpected ): \`${this.#src}\`` };
        this.#scopes.pop();
        this.#emit(')');
        return undefined;
      case '.':
        this.#emit(f.s ? '[\\s\\S]' : '[^\\n]');
        return undefined;
      case '^':
        this.#emit(f.m ? '(?<![^\\n])' : '^');
        return undefined;
      case '$':
        this.#emit(f.m ? '(?![^\\n])' : '$');
        return undefined;
      case '{':
        return this.#brace();
      case '}':
        this.#emit('\\}');
        return undefined;
      case '|':
      case '*':
      case '+':
      case '?':
        this.#emit(ch);
        return undefined;
      default: {
        const cp = this.#src.codePointAt(this.#i) as number;
        this.#literal(cp, String.fromCodePoint(cp).length);
        return undefined;
      }
    }
  }

  #emit(s: string, advance = 1): void {
    this.#out += s;
    this.#i += advance;
  }

  /** A literal code point, folded when `(?i)` is in effect. */
  #literal(cp: number, width: number): void {
    const folds = this.#flags.i ? foldsOf(cp) : [];
    if (folds.length > 0 && cp <= MAX_CLASS_CODE) {
      this.#emit(
        `[${rangesSource(normalizeRanges([[cp, cp], ...folds.map((x): [number, number] => [x, x])]))}]`,
        width,
      );
      return;
    }
    const ch = String.fromCodePoint(cp);
    this.#emit(JS_SPECIAL.has(ch) ? `\\${ch}` : ch, width);
  }

  /** `{n}`, `{n,}`, `{n,m}` is a repetition (counts up to 1000, as Go); any other `{` is literal. */
  #brace(): Failure | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.#src.slice(this.#i, this.#i + 24));
    if (!m) {
      this.#emit('\\{');
      return undefined;
    }
    const min = Number(m[1]);
    const max = m[3] === undefined || m[3] === '' ? undefined : Number(m[3]);
    if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min)))
      return { error: `invalid repeat count: \`${m[0]}\`` };
    this.#emit(m[0], m[0].length);
    return undefined;
  }

  /** `(`, `(?:`, `(?P<name>`, `(?<name>`, `(?flags)`, `(?flags:`. */
  #open(): Failure | undefined {
    const src = this.#src;
    if (src[this.#i + 1] !== '?') {
      this.#scopes.push({ ...this.#flags });
      this.#emit('(');
      return undefined;
    }
    const rest = src.slice(this.#i + 2);
    const named = /^(?:P<|<)([A-Za-z0-9_]+)>/.exec(rest);
    if (named) {
      const name = named[1] as string;
      if (name[0]! >= '0' && name[0]! <= '9')
        return { error: `invalid named capture: \`(?${named[0]}\` (a name starting with a digit is not supported)` };
      this.#scopes.push({ ...this.#flags });
      this.#emit(`(?<${name}>`, 2 + named[0].length);
      return undefined;
    }
    const flags = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
    // `(?:` is a plain group; `(?)`, `(?-)` and `(?-:` name no flag (Go: missing flag).
    if (!flags || (flags[1] === '' && (flags[2] ?? '') === '' && (flags[2] !== undefined || flags[3] === ')'))) {
      const what =
        rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')
          ? 'lookarounds are not supported'
          : 'invalid or unsupported Perl syntax';
      return { error: `${what}: \`(?${rest.slice(0, 2)}\`` };
    }
    const set = flags[1] ?? '';
    const clear = flags[2] ?? '';
    if (set.includes('U') || clear.includes('U')) return { error: 'the (?U) flag is not supported' };
    const next: Flags = { ...this.#flags };
    for (const c of set) next[c as 'i' | 's' | 'm'] = true;
    for (const c of clear) next[c as 'i' | 's' | 'm'] = false;
    const advance = 2 + flags[0].length;
    if (flags[3] === ':') {
      this.#scopes.push(next);
      this.#emit('(?:', advance);
    } else {
      // Go: the flags hold until the end of the enclosing group (across `|`).
      this.#scopes[this.#scopes.length - 1] = next;
      this.#i += advance;
    }
    return undefined;
  }

  /** An escape outside a class. */
  #escape(): Failure | undefined {
    const src = this.#src;
    const next = src[this.#i + 1];
    if (next === undefined) return { error: 'trailing backslash at end of expression' };
    switch (next) {
      case 'A':
        this.#emit('^', 2);
        return undefined;
      case 'z':
        this.#emit('$', 2);
        return undefined;
      case 'b':
      case 'B':
        this.#emit(`\\${next}`, 2);
        return undefined;
      case 'd':
      case 'D':
      case 's':
      case 'S':
      case 'w':
      case 'W': {
        const ranges = this.#perl(next);
        this.#emit(`[${rangesSource(this.#flags.i ? foldRanges(ranges) : ranges)}]`, 2);
        return undefined;
      }
      case 'Q': {
        const end = src.indexOf('\\E', this.#i + 2);
        const text = src.slice(this.#i + 2, end === -1 ? src.length : end);
        this.#i += 2;
        for (const c of text) this.#literal(c.codePointAt(0) as number, c.length);
        if (end !== -1) this.#i += 2;
        return undefined;
      }
      case 'p':
      case 'P':
        return { error: `Unicode classes are not supported: \`\\${next}${src[this.#i + 2] ?? ''}\`` };
    }
    const code = this.#escapedChar();
    if (typeof code !== 'number') return code;
    this.#literal(code, 0);
    return undefined;
  }

  /** Ranges of `\d`, `\D`, `\s`, `\S`, `\w`, `\W`. */
  #perl(letter: string): Ranges {
    const base = PERL_CLASSES[letter.toLowerCase()] as Ranges;
    return letter === letter.toLowerCase() ? base : complementRanges(base);
  }

  /**
   * Reads an escape that stands for one character (`\n`, `\x41`, `\x{263a}`, `\101`, `\.`), leaving
   * the position after it; Go's error for an escape it does not know.
   */
  #escapedChar(): number | Failure {
    const src = this.#src;
    const start = this.#i;
    const next = src[start + 1] as string;
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (Object.hasOwn(simple, next)) {
      this.#i += 2;
      return simple[next] as number;
    }
    if (next === 'x') {
      if (src[start + 2] === '{') {
        const close = src.indexOf('}', start + 3);
        const digits = close === -1 ? '' : src.slice(start + 3, close);
        const n = /^[0-9A-Fa-f]{1,8}$/.test(digits) ? parseInt(digits, 16) : NaN;
        if (!(n <= 0x10ffff))
          return { error: `invalid escape sequence: \`${src.slice(start, close === -1 ? start + 3 : close + 1)}\`` };
        this.#i = close + 1;
        return n;
      }
      const digits = src.slice(start + 2, start + 4);
      if (!/^[0-9A-Fa-f]{2}$/.test(digits))
        return { error: `invalid escape sequence: \`${src.slice(start, start + 4)}\`` };
      this.#i += 4;
      return parseInt(digits, 16);
    }
    if (next >= '1' && next <= '9' && !(isOctal(next) && isOctal(src[start + 2]))) {
      return { error: `back-references are not supported (Go regexp syntax): \`\\${next}\`` };
    }
    if (isOctal(next)) {
      // `\0`, `\012`, `\101`: up to three octal digits (a lone `\1`…`\7` is a back-reference, refused above).
      let end = start + 2;
      while (end < start + 4 && isOctal(src[end])) end++;
      this.#i = end;
      return parseInt(src.slice(start + 1, end), 8);
    }
    if (isWordChar(next)) return { error: `invalid escape sequence: \`\\${next}\`` };
    const cp = src.codePointAt(start + 1) as number;
    this.#i += 1 + String.fromCodePoint(cp).length;
    return cp;
  }

  /** A bracketed class, turned into explicit ranges (folded under `(?i)`). */
  #class(): Failure | undefined {
    const src = this.#src;
    const open = this.#i;
    let i = open + 1;
    const negate = src[i] === '^';
    if (negate) i++;
    const ranges: Ranges = [];
    let first = true;
    for (;;) {
      if (i >= src.length) return { error: `missing closing ]: \`${src.slice(open)}\`` };
      const ch = src[i] as string;
      if (ch === ']' && !first) break;
      first = false;
      if (ch === '[' && src[i + 1] === ':') {
        const end = src.indexOf(':]', i + 2);
        const raw = end === -1 ? '' : src.slice(i + 2, end);
        const neg = raw.startsWith('^');
        const name = neg ? raw.slice(1) : raw;
        const posix = Object.hasOwn(POSIX_CLASSES, name) ? POSIX_CLASSES[name] : undefined;
        if (posix === undefined) return { error: `invalid character class range: \`[:${raw}:]\`` };
        ranges.push(...(neg ? complementRanges(posix) : posix));
        i = end + 2;
        continue;
      }
      const lo = this.#classAtom(i);
      if ('error' in lo) return lo;
      i = lo.end;
      if ('ranges' in lo) {
        ranges.push(...lo.ranges);
        continue;
      }
      if (src[i] === '-' && src[i + 1] !== ']' && i + 1 < src.length) {
        const hi = this.#classAtom(i + 1);
        if ('error' in hi) return hi;
        if ('ranges' in hi || hi.cp < lo.cp)
          return { error: `invalid character class range: \`${src.slice(lo.start, hi.end)}\`` };
        ranges.push([lo.cp, hi.cp]);
        i = hi.end;
      } else {
        ranges.push([lo.cp, lo.cp]);
      }
    }
    if (ranges.some(([, hi]) => hi > MAX_CLASS_CODE))
      return {
        error: `characters beyond U+FFFF in a character class are not supported: \`${src.slice(open, i + 1)}\``,
      };
    const set = normalizeRanges(this.#flags.i ? foldRanges(ranges) : ranges);
    this.#out += `[${negate ? '^' : ''}${rangesSource(set)}]`;
    this.#i = i + 1;
    return undefined;
  }

  /** One item of a class at `at`: a character, or a Perl class (`\d`) as ranges. */
  #classAtom(
    at: number,
  ): { start: number; end: number; cp: number } | { start: number; end: number; ranges: Ranges } | Failure {
    const src = this.#src;
    if (src[at] !== '\\') {
      const cp = src.codePointAt(at) as number;
      return { start: at, end: at + String.fromCodePoint(cp).length, cp };
    }
    const next = src[at + 1];
    if (next === undefined) return { error: 'trailing backslash at end of expression' };
    if ('dDsSwW'.includes(next)) return { start: at, end: at + 2, ranges: this.#perl(next) };
    if (next === 'p' || next === 'P')
      return { error: `Unicode classes are not supported: \`\\${next}${src[at + 2] ?? ''}\`` };
    if (next === 'Q' || next === 'E' || next === 'b' || next === 'B' || next === 'A' || next === 'z')
      return { error: `invalid escape sequence in a character class: \`\\${next}\`` };
    const saved = this.#i;
    this.#i = at;
    const code = this.#escapedChar();
    const end = this.#i;
    this.#i = saved;
    if (typeof code !== 'number') return code;
    return { start: at, end, cp: code };
  }
}
