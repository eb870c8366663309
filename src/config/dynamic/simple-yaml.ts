/**
 * A fast reader for the plain subset of YAML that generated and most hand-written configuration
 * files use: block mappings and sequences indented with spaces, plain, single- and double-quoted
 * one-line scalars (YAML 1.2 core schema), empty flow collections and comments. The `yaml`
 * library needs 2–4 s and a full syntax tree for a 10,000-router file on a cold start; this
 * reads it in a fraction of that. Anything outside the subset (anchors, aliases, tags, merge keys,
 * flow collections, multi-line or block scalars, tabs, duplicate keys, document markers) returns
 * undefined and the caller uses the library, so its answer and its error messages stay the rule.
 */

interface Line {
  readonly indent: number;
  readonly text: string;
}

/** Thrown inside the reader when the text leaves the subset; never escapes `parseSimpleYaml`. */
class OutsideSubset extends Error {}

const out = (): never => {
  throw new OutsideSubset();
};

/**
 * The value of `text` as `yaml`'s `parseDocument(text, { merge: true }).toJS()` would give it, or
 * undefined when the text is outside the subset this reader handles (then nothing is claimed).
 */
export function parseSimpleYaml(text: string): { value: unknown } | undefined {
  if (text.includes('\t')) return undefined;
  if (text.includes('\r')) {
    text = text.replace(/\r\n/g, '\n');
    if (text.includes('\r')) return undefined;
  }
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    let indent = 0;
    while (raw.charCodeAt(indent) === 32) indent++;
    const body = raw.slice(indent).trimEnd();
    if (body === '' || body.startsWith('#')) continue;
    if (indent === 0 && (body.startsWith('---') || body.startsWith('...') || body.startsWith('%'))) return undefined;
    lines.push({ indent, text: body });
  }
  if (lines.length === 0) return undefined;
  try {
    const r = new Reader(lines);
    const value = r.block(lines[0]!.indent);
    if (r.i !== lines.length) return undefined;
    return { value };
  } catch (err) {
    if (err instanceof OutsideSubset) return undefined;
    throw err;
  }
}

class Reader {
  i = 0;
  private readonly lines: Line[];

  constructor(lines: Line[]) {
    this.lines = lines;
  }

  /** The mapping or sequence starting at the current line, indented exactly `indent`. */
  block(indent: number): unknown {
    const first = this.lines[this.i]!;
    if (first.indent !== indent) out();
    return isSeqItem(first.text) ? this.seq(indent) : this.map(indent);
  }

  private map(indent: number): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent || isSeqItem(line.text)) out();
      const { key, rest } = splitKey(line.text) ?? out();
      if (Object.hasOwn(obj, key)) out();
      this.i++;
      obj[key] = rest === '' ? this.nested(indent, true) : scalar(rest);
    }
    return obj;
  }

  private seq(indent: number): unknown[] {
    const list: unknown[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent < indent || (line.indent === indent && !isSeqItem(line.text))) break;
      if (line.indent > indent) out();
      let skip = 1;
      while (line.text.charCodeAt(skip) === 32) skip++;
      const item = line.text.slice(skip);
      if (item === '' || item.startsWith('#')) {
        this.i++;
        list.push(this.nested(indent, false));
      } else if (isSeqItem(item)) {
        out();
      } else if (splitKey(item)) {
        // `- key: value`: a mapping whose first entry shares the dash's line.
        this.lines[this.i] = { indent: indent + skip, text: item };
        list.push(this.map(indent + skip));
      } else {
        this.i++;
        list.push(scalar(item));
      }
    }
    return list;
  }

  /** The value under a `key:` or `-` with nothing after it: a deeper block, a sequence at the key's indent, or null. */
  private nested(indent: number, underKey: boolean): unknown {
    const next = this.lines[this.i];
    if (next === undefined || next.indent < indent) return null;
    if (next.indent > indent) return this.block(next.indent);
    return underKey && isSeqItem(next.text) ? this.seq(indent) : null;
  }
}

function isSeqItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** `key: rest` (rest '' when the value is on the following lines), or undefined when the line is no mapping entry. */
function splitKey(text: string): { key: string; rest: string } | undefined {
  let key: string;
  let after: number;
  const q = text[0];
  if (q === '"' || q === "'") {
    const end = quotedEnd(text, q);
    if (end < 0) out();
    if (text[end + 1] !== ':') return undefined;
    key = unquote(text.slice(0, end + 1));
    after = end + 2;
  } else {
    const colon = keyColon(text);
    if (colon < 0) return undefined;
    key = text.slice(0, colon).trimEnd();
    if (!/^[A-Za-z0-9_$][\w.\-/@$]*$/.test(key) || typeof plain(key) !== 'string') out();
    after = colon + 1;
  }
  if (key === '__proto__' || key === '<<') out();
  if (after < text.length && text[after] !== ' ') out();
  const rest = text.slice(after).trimStart();
  return { key, rest: rest.startsWith('#') ? '' : rest };
}

/** Offset of the `:` that ends a plain key (followed by a space or the end of the line), or -1. */
function keyColon(text: string): number {
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) {
    if (i + 1 === text.length || text[i + 1] === ' ') return i;
  }
  return -1;
}

/** Offset of the closing quote of the quoted scalar starting at 0, or -1. */
function quotedEnd(text: string, q: string): number {
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (q === '"' && c === '\\') i++;
    else if (c === q) {
      if (q === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

function unquote(s: string): string {
  if (s[0] === "'") return s.slice(1, -1).replace(/''/g, "'");
  // JSON's escapes mean the same in YAML; YAML's others (\x, \e, \N, line folding) are left to the library.
  try {
    return JSON.parse(s) as string;
  } catch {
    return out();
  }
}

/** A one-line value after `key: ` or `- `. */
function scalar(text: string): unknown {
  const q = text[0];
  if (q === '"' || q === "'") {
    const end = quotedEnd(text, q);
    if (end < 0) out();
    const tail = text.slice(end + 1).trimStart();
    if (tail !== '' && !(tail.startsWith('#') && text[end + 1] === ' ')) out();
    return unquote(text.slice(0, end + 1));
  }
  if (text === '[]') return [];
  if (text === '{}') return {};
  // Indicators that start anchors, aliases, tags, block scalars, flow collections or reserved forms.
  if (/^[&*!|>%@`{}[\],?:#-]/.test(text) && !/^-[^\s]/.test(text)) out();
  const hash = text.indexOf(' #');
  const value = hash >= 0 ? text.slice(0, hash).trimEnd() : text;
  if (keyColon(value) >= 0) out();
  return plain(value);
}

/** A plain scalar resolved by the YAML 1.2 core schema, as the `yaml` library does. */
function plain(s: string): unknown {
  // Most scalars start with a letter no null, boolean or number starts with.
  const c = s.charCodeAt(0) | 0x20;
  if (c >= 0x61 && c <= 0x7a && c !== 0x6e && c !== 0x74 && c !== 0x66) return s;
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return s[0] === 't' || s[0] === 'T';
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s))
    return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}
