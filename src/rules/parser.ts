import { tokenize, type Token } from './lexer.ts';
import { suggestName } from './suggest.ts';
import type { MatcherNode, MatcherTable, RuleNode } from './syntax.ts';

/** Longest rule accepted; longer input is refused before any work is done on it. */
export const MAX_RULE_LENGTH = 64 * 1024;

/** Deepest nesting of `(` and `!` accepted, so a hostile rule cannot exhaust the stack. */
export const MAX_RULE_DEPTH = 200;

/** A syntax tree, or the first error (never thrown). */
export type ParseResult =
  | { readonly ok: true; readonly tree: RuleNode }
  | { readonly ok: false; readonly error: string };

/**
 * Parses a rule against a table of known matchers (Traefik's v2 and v3 languages share the grammar
 * and differ in their matchers):
 * `!` binds tighter than `&&`, which binds tighter than `||`; parentheses group.
 * Matcher names are accepted as written in the table, all lower case, all upper case, or
 * capitalised (`Host`, `host`, `HOST`, `Hostregexp`), as Traefik does; the arity is checked here, and
 * an empty value is refused as Traefik's `CheckRule` refuses it.
 */
export function parseRule(rule: string, matchers: MatcherTable): ParseResult {
  if (typeof rule !== 'string') return { ok: false, error: 'rule must be a string' };
  if (rule.length > MAX_RULE_LENGTH) {
    return { ok: false, error: `rule is too long (${rule.length} characters, at most ${MAX_RULE_LENGTH})` };
  }
  if (rule.trim() === '') return { ok: false, error: 'rule is empty' };
  const lexed = tokenize(rule);
  if (!lexed.ok) return lexed;
  const p = new Parser(lexed.tokens, matchers);
  const tree = p.parseOr(0);
  if (typeof tree === 'string') return { ok: false, error: tree };
  const next = p.peek();
  if (next.kind !== 'eof') return { ok: false, error: unexpected(next) };
  return { ok: true, tree };
}

/** Shortens user text quoted in an error, so a huge rule does not make a huge message. */
function clip(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + '…' : text;
}

function unexpected(t: Token): string {
  if (t.kind === 'eof') return `unexpected end of rule at ${t.pos}`;
  if (t.kind === 'string') return `unexpected value ${JSON.stringify(clip(t.text))} at ${t.pos}`;
  return `unexpected token '${clip(t.text)}' at ${t.pos}`;
}

function aliases(table: MatcherTable): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of Object.keys(table)) {
    const lower = name.toLowerCase();
    for (const alias of [name, lower, name.toUpperCase(), lower.charAt(0).toUpperCase() + lower.slice(1)]) {
      if (!out.has(alias)) out.set(alias, name);
    }
  }
  return out;
}

const aliasCache = new WeakMap<MatcherTable, Map<string, string>>();

/** Recursive descent over the token list; every method returns a node or an error message. */
class Parser {
  readonly #tokens: Token[];
  readonly #table: MatcherTable;
  readonly #names: Map<string, string>;
  #i = 0;

  constructor(tokens: Token[], table: MatcherTable) {
    this.#tokens = tokens;
    this.#table = table;
    let names = aliasCache.get(table);
    if (!names) {
      names = aliases(table);
      aliasCache.set(table, names);
    }
    this.#names = names;
  }

  peek(): Token {
    return this.#tokens[this.#i] as Token;
  }

  #next(): Token {
    const t = this.#tokens[this.#i] as Token;
    if (t.kind !== 'eof') this.#i++;
    return t;
  }

  parseOr(depth: number): RuleNode | string {
    const first = this.#parseAnd(depth);
    if (typeof first === 'string') return first;
    if (this.peek().kind !== '||') return first;
    const items: RuleNode[] = [first];
    while (this.peek().kind === '||') {
      this.#next();
      const item = this.#parseAnd(depth);
      if (typeof item === 'string') return item;
      items.push(item);
    }
    return { kind: 'or', items };
  }

  #parseAnd(depth: number): RuleNode | string {
    const first = this.#parseUnary(depth);
    if (typeof first === 'string') return first;
    if (this.peek().kind !== '&&') return first;
    const items: RuleNode[] = [first];
    while (this.peek().kind === '&&') {
      this.#next();
      const item = this.#parseUnary(depth);
      if (typeof item === 'string') return item;
      items.push(item);
    }
    return { kind: 'and', items };
  }

  #parseUnary(depth: number): RuleNode | string {
    if (depth > MAX_RULE_DEPTH)
      return `rule is nested too deeply at ${this.peek().pos} (at most ${MAX_RULE_DEPTH} levels)`;
    const t = this.#next();
    if (t.kind === '!') {
      const operand = this.#parseUnary(depth + 1);
      if (typeof operand === 'string') return operand;
      return { kind: 'not', operand };
    }
    if (t.kind === '(') {
      const inner = this.parseOr(depth + 1);
      if (typeof inner === 'string') return inner;
      const close = this.#next();
      if (close.kind !== ')') return `${unexpected(close)}, expected ')' to close '(' at ${t.pos}`;
      return inner;
    }
    if (t.kind === 'ident') return this.#parseMatcher(t);
    return `${unexpected(t)}, expected a matcher, '!' or '('`;
  }

  #parseMatcher(nameToken: Token): MatcherNode | string {
    const name = this.#names.get(nameToken.text);
    if (name === undefined) {
      const guess = suggestName(nameToken.text, Object.keys(this.#table));
      return `unknown matcher ${clip(nameToken.text)} at ${nameToken.pos}` + (guess ? ` — did you mean ${guess}?` : '');
    }
    const open = this.#next();
    if (open.kind !== '(') return `${unexpected(open)}, expected '(' after ${name}`;
    const args: string[] = [];
    if (this.peek().kind === ')') {
      this.#next();
    } else {
      for (;;) {
        const value = this.#next();
        if (value.kind !== 'string') return `${unexpected(value)}, expected a value in backticks or double quotes`;
        args.push(value.text);
        const sep = this.#next();
        if (sep.kind === ')') break;
        if (sep.kind !== ',') return `${unexpected(sep)}, expected ',' or ')'`;
      }
    }
    const arity = this.#table[name] ?? [];
    if (arity === 'many') {
      if (args.length === 0) return `${name} takes at least 1 argument, got 0 (at ${nameToken.pos})`;
    } else if (!arity.includes(args.length)) {
      const expected = arity.join(' or ');
      const plural = arity.length === 1 && arity[0] === 1 ? 'argument' : 'arguments';
      return `${name} takes ${expected} ${plural}, got ${args.length} (at ${nameToken.pos})`;
    }
    // Traefik's rules.CheckRule refuses an empty value for every matcher: Host(``), Query(`q`, ``).
    const empty = args.indexOf('');
    if (empty !== -1)
      return `${name} at ${nameToken.pos}: argument ${empty + 1} is empty; an empty value is not allowed`;
    return { kind: 'matcher', name, args, pos: nameToken.pos };
  }
}
