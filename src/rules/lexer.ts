/** Kinds of token in the rule language. */
export type TokenKind = 'ident' | 'string' | '(' | ')' | ',' | '&&' | '||' | '!' | 'eof';

/** One token; `pos` is its 0-based offset in the rule, used in error messages. */
export interface Token {
  readonly kind: TokenKind;
  /** The identifier, or the decoded value of a string literal. */
  readonly text: string;
  readonly pos: number;
}

/** Tokens, or the first lexical error (never thrown). */
export type LexResult =
  | { readonly ok: true; readonly tokens: Token[] }
  | { readonly ok: false; readonly error: string };

/**
 * Splits a rule into tokens. Values are Go string literals, as in Traefik: raw in backticks
 * (no escapes) or interpreted in double quotes (Go escapes). Single quotes are refused, as Traefik does.
 * Linear in the rule length.
 */
export function tokenize(rule: string): LexResult {
  const tokens: Token[] = [];
  const n = rule.length;
  let i = 0;
  while (i < n) {
    const c = rule.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    const pos = i;
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(rule.charCodeAt(i))) i++;
      tokens.push({ kind: 'ident', text: rule.slice(pos, i), pos });
      continue;
    }
    switch (c) {
      case 0x28:
        tokens.push({ kind: '(', text: '(', pos });
        i++;
        continue;
      case 0x29:
        tokens.push({ kind: ')', text: ')', pos });
        i++;
        continue;
      case 0x2c:
        tokens.push({ kind: ',', text: ',', pos });
        i++;
        continue;
      case 0x21:
        tokens.push({ kind: '!', text: '!', pos });
        i++;
        continue;
      case 0x26:
      case 0x7c: {
        if (rule.charCodeAt(i + 1) !== c) {
          const op = c === 0x26 ? '&&' : '||';
          return { ok: false, error: `unexpected character '${rule[i]}' at ${pos} (did you mean '${op}'?)` };
        }
        tokens.push({ kind: c === 0x26 ? '&&' : '||', text: c === 0x26 ? '&&' : '||', pos });
        i += 2;
        continue;
      }
      case 0x60: {
        // backtick: raw string
        const close = rule.indexOf('`', i + 1);
        if (close === -1) return { ok: false, error: `unterminated string starting at ${pos}` };
        tokens.push({ kind: 'string', text: rule.slice(i + 1, close), pos });
        i = close + 1;
        continue;
      }
      case 0x22: {
        // double quote: interpreted string
        const r = readQuoted(rule, i);
        if (typeof r === 'string') return { ok: false, error: r };
        tokens.push({ kind: 'string', text: r.value, pos });
        i = r.end;
        continue;
      }
      case 0x27:
        return { ok: false, error: `single quotes are not accepted at ${pos}: use backticks or double quotes` };
      default:
        return { ok: false, error: `unexpected character ${JSON.stringify(rule[i])} at ${pos}` };
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: n });
  return { ok: true, tokens };
}

function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39);
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

/** Reads a Go interpreted string literal starting at the opening quote; returns an error string on failure. */
function readQuoted(rule: string, start: number): { value: string; end: number } | string {
  let out = '';
  let i = start + 1;
  let chunk = i;
  while (i < rule.length) {
    const ch = rule[i] as string;
    if (ch === '"') return { value: out + rule.slice(chunk, i), end: i + 1 };
    if (ch === '\n') break;
    if (ch !== '\\') {
      i++;
      continue;
    }
    out += rule.slice(chunk, i);
    const esc = rule[i + 1];
    if (esc === undefined) break;
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) {
      out += simple;
      i += 2;
    } else if (esc === 'x' || esc === 'u' || esc === 'U' || (esc >= '0' && esc <= '7')) {
      const octal = esc >= '0' && esc <= '7';
      const len = esc === 'x' ? 2 : esc === 'u' ? 4 : esc === 'U' ? 8 : 3;
      const digits = rule.slice(octal ? i + 1 : i + 2, (octal ? i + 1 : i + 2) + len);
      const ok = digits.length === len && (octal ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/).test(digits);
      const code = ok ? parseInt(digits, octal ? 8 : 16) : NaN;
      if (!ok || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || (octal && code > 255)) {
        return `invalid escape sequence at ${i}`;
      }
      out += String.fromCodePoint(code);
      i = (octal ? i + 1 : i + 2) + len;
    } else {
      return `invalid escape sequence '\\${esc}' at ${i}`;
    }
    chunk = i;
  }
  return `unterminated string starting at ${start}`;
}
