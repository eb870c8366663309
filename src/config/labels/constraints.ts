/**
 * Traefik's `providers.docker.constraints` expressions: `Label(`k`, `v`)`, `LabelRegex(`k`, `re`)`,
 * combined with `&&`, `||`, `!` and parentheses. Strings may be back-quoted or double-quoted.
 */

/** A compiled constraint: labels → whether the container is kept. */
export type ConstraintMatcher = (labels: Readonly<Record<string, string>>) => boolean;

type Token = { t: 'op'; v: '&&' | '||' | '!' | '(' | ')' | ',' } | { t: 'ident'; v: string } | { t: 'str'; v: string };

function lex(src: string): Token[] | string {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if (c === '!' || c === '(' || c === ')' || c === ',') {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    if (c === '`' || c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (c === '"' && src[j] === '\\' && j + 1 < src.length) {
          s += src[j + 1];
          j += 2;
          continue;
        }
        s += src[j];
        j++;
      }
      if (j >= src.length) return `unterminated string at ${i}`;
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (!m) return `unexpected character "${c}" at ${i}`;
    out.push({ t: 'ident', v: m[0] });
    i += m[0].length;
  }
  return out;
}

/** Compiles a constraints expression, or returns `{ error }` describing why it is invalid. */
export function compileConstraints(expr: string): { match: ConstraintMatcher } | { error: string } {
  const tokens = lex(expr);
  if (typeof tokens === 'string') return { error: tokens };
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (v: string): boolean => {
    const t = peek();
    return t?.t === 'op' && t.v === v;
  };

  function parseOr(): ConstraintMatcher | string {
    let left = parseAnd();
    while (typeof left !== 'string' && isOp('||')) {
      pos++;
      const right = parseAnd();
      if (typeof right === 'string') return right;
      const l = left;
      left = (labels) => l(labels) || right(labels);
    }
    return left;
  }
  function parseAnd(): ConstraintMatcher | string {
    let left = parseUnary();
    while (typeof left !== 'string' && isOp('&&')) {
      pos++;
      const right = parseUnary();
      if (typeof right === 'string') return right;
      const l = left;
      left = (labels) => l(labels) && right(labels);
    }
    return left;
  }
  function parseUnary(): ConstraintMatcher | string {
    if (isOp('!')) {
      pos++;
      const inner = parseUnary();
      return typeof inner === 'string' ? inner : (labels) => !inner(labels);
    }
    if (isOp('(')) {
      pos++;
      const inner = parseOr();
      if (typeof inner === 'string') return inner;
      if (!isOp(')')) return 'missing ")"';
      pos++;
      return inner;
    }
    const t = peek();
    if (t?.t !== 'ident') return `expected Label(...) or LabelRegex(...) at token ${pos + 1}`;
    pos++;
    if (!isOp('(')) return `expected "(" after ${t.v}`;
    pos++;
    const args: string[] = [];
    while (!isOp(')')) {
      const a = peek();
      if (a?.t !== 'str') return `${t.v}: arguments must be quoted strings`;
      args.push(a.v);
      pos++;
      if (isOp(',')) pos++;
      else if (!isOp(')')) return `${t.v}: expected "," or ")"`;
    }
    pos++;
    if (args.length !== 2) return `${t.v} takes two arguments, got ${args.length}`;
    const [name, want] = args as [string, string];
    if (t.v === 'Label') return (labels) => Object.hasOwn(labels, name) && labels[name] === want;
    if (t.v === 'LabelRegex') {
      let re: RegExp;
      try {
        re = new RegExp(want, 'u');
      } catch (err) {
        return `LabelRegex: invalid regular expression ${JSON.stringify(want)}: ${(err as Error).message}`;
      }
      return (labels) => Object.hasOwn(labels, name) && re.test(labels[name] ?? '');
    }
    return `unknown function "${t.v}": use Label or LabelRegex`;
  }

  if (tokens.length === 0) return { match: () => true };
  const m = parseOr();
  if (typeof m === 'string') return { error: m };
  if (pos < tokens.length) return { error: `unexpected token at ${pos + 1}` };
  return { match: m };
}
