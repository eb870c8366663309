/**
 * A small evaluator for Traefik's `defaultRule` Go templates. It covers the forms people write:
 * `{{ .Name }}`, `{{ .ContainerName }}`, `{{ normalize .Name }}`, `{{ .Name | normalize }}`,
 * `{{ index .Labels "key" }}`, `{{ .Labels.key }}`, and a few sprig string functions
 * (`lower`, `upper`, `trim`, `trimPrefix`, `trimSuffix`, `replace`, `default`). Anything else is an
 * error value, never an exception.
 */

/** The data a default rule sees, as in Traefik's docker provider. */
export interface RuleModel {
  readonly Name: string;
  readonly ContainerName: string;
  readonly Labels: Readonly<Record<string, string>>;
}

/** Traefik's `provider.Normalize`: every run of non-letters/digits becomes one `-`, trimmed. */
export function normalizeName(name: string): string {
  return name
    .split(/[^\p{L}\p{N}]+/u)
    .filter((s) => s !== '')
    .join('-');
}

/** Renders the template, or returns `{ error }`. */
export function renderRuleTemplate(template: string, model: RuleModel): { value: string } | { error: string } {
  let out = '';
  let pos = 0;
  while (pos < template.length) {
    const open = template.indexOf('{{', pos);
    if (open < 0) {
      out += template.slice(pos);
      break;
    }
    let text = template.slice(pos, open);
    const close = template.indexOf('}}', open + 2);
    if (close < 0) return { error: 'unclosed action: missing "}}"' };
    let action = template.slice(open + 2, close);
    if (action.startsWith('-')) {
      text = text.trimEnd();
      action = action.slice(1);
    }
    let trimAfter = false;
    if (action.endsWith('-')) {
      trimAfter = true;
      action = action.slice(0, -1);
    }
    out += text;
    const r = evalPipeline(action.trim(), model);
    if ('error' in r) return r;
    out += r.value;
    pos = close + 2;
    if (trimAfter) while (pos < template.length && /\s/.test(template[pos] ?? '')) pos++;
  }
  return { value: out };
}

type Val = { value: unknown } | { error: string };

/**
 * A missing map key reached by a field chain (`.Labels.nope`): Go's template prints it as
 * `<no value>` and refuses to pass it to a function. `index .Labels "nope"` is the empty string.
 */
const NO_VALUE: unique symbol = Symbol('no value');

function tokenize(s: string): string[] | { error: string } {
  const tokens: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '|' || c === '(' || c === ')') {
      tokens.push(c);
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let lit = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length) {
          lit += s[j + 1];
          j += 2;
          continue;
        }
        lit += s[j];
        j++;
      }
      if (j >= s.length) return { error: 'unterminated string' };
      tokens.push(`"${lit}`);
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = s.indexOf('`', i + 1);
      if (j < 0) return { error: 'unterminated raw string' };
      tokens.push(`"${s.slice(i + 1, j)}`);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < s.length && !/[\s|()]/.test(s[j] ?? '')) j++;
    tokens.push(s.slice(i, j));
    i = j;
  }
  return tokens;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

const FUNCS: Record<string, (args: unknown[]) => Val> = {
  normalize: (a) => (a.length === 1 ? { value: normalizeName(str(a[0])) } : { error: 'normalize takes one argument' }),
  lower: (a) => (a.length === 1 ? { value: str(a[0]).toLowerCase() } : { error: 'lower takes one argument' }),
  upper: (a) => (a.length === 1 ? { value: str(a[0]).toUpperCase() } : { error: 'upper takes one argument' }),
  trim: (a) => (a.length === 1 ? { value: str(a[0]).trim() } : { error: 'trim takes one argument' }),
  trimPrefix: (a) =>
    a.length === 2
      ? { value: str(a[1]).startsWith(str(a[0])) ? str(a[1]).slice(str(a[0]).length) : str(a[1]) }
      : { error: 'trimPrefix takes two arguments' },
  trimSuffix: (a) =>
    a.length === 2
      ? { value: str(a[0]) !== '' && str(a[1]).endsWith(str(a[0])) ? str(a[1]).slice(0, -str(a[0]).length) : str(a[1]) }
      : { error: 'trimSuffix takes two arguments' },
  replace: (a) =>
    a.length === 3 ? { value: str(a[2]).split(str(a[0])).join(str(a[1])) } : { error: 'replace takes three arguments' },
  default: (a) =>
    a.length === 2 ? { value: str(a[1]) === '' ? a[0] : a[1] } : { error: 'default takes two arguments' },
  index: (a) => {
    if (a.length !== 2) return { error: 'index takes two arguments' };
    const m = a[0];
    if (typeof m !== 'object' || m === null) return { error: 'index of a non-map' };
    return { value: Object.hasOwn(m, str(a[1])) ? (m as Record<string, unknown>)[str(a[1])] : '' };
  },
};

function operand(tok: string, model: RuleModel): Val {
  if (tok.startsWith('"')) return { value: tok.slice(1) };
  if (tok === '.') return { value: model };
  if (tok.startsWith('.')) {
    let cur: unknown = model;
    for (const part of tok.slice(1).split('.')) {
      if (typeof cur !== 'object' || cur === null) return { error: `can't evaluate field ${part}` };
      if (cur === model && !['Name', 'ContainerName', 'Labels'].includes(part))
        return { error: `can't evaluate field ${part}: the model has Name, ContainerName and Labels` };
      cur = Object.hasOwn(cur, part) ? (cur as Record<string, unknown>)[part] : cur === model ? undefined : NO_VALUE;
    }
    return { value: cur };
  }
  if (/^-?\d+$/.test(tok)) return { value: Number(tok) };
  return { error: `unknown operand "${tok}"` };
}

function evalCommand(tokens: string[], piped: unknown[], model: RuleModel): Val {
  const [head, ...rest] = tokens;
  if (head === undefined) return { error: 'empty command' };
  const fn = FUNCS[head];
  if (fn === undefined) {
    if (rest.length > 0 || piped.length > 0) return { error: `function "${head}" not defined` };
    return operand(head, model);
  }
  const args: unknown[] = [];
  for (const t of rest) {
    const v = operand(t, model);
    if ('error' in v) return v;
    args.push(v.value);
  }
  const all = [...args, ...piped];
  if (all.includes(NO_VALUE)) {
    // sprig's `default` takes interface{} arguments, which receive a missing key as nil; the others take strings.
    if (head !== 'default')
      return {
        error: `${head}: invalid value; expected string (for a label that may be missing, use index .Labels "key")`,
      };
    return fn(all.map((a) => (a === NO_VALUE ? '' : a)));
  }
  return fn(all);
}

function evalPipeline(action: string, model: RuleModel): { value: string } | { error: string } {
  const tokens = tokenize(action);
  if (!Array.isArray(tokens)) return tokens;
  if (tokens.includes('(') || tokens.includes(')')) return { error: 'parenthesised expressions are not supported' };
  const commands: string[][] = [[]];
  for (const t of tokens) {
    if (t === '|') commands.push([]);
    else commands[commands.length - 1]?.push(t);
  }
  let piped: unknown[] = [];
  for (const cmd of commands) {
    const r = evalCommand(cmd, piped, model);
    if ('error' in r) return r;
    piped = [r.value];
  }
  const v = piped[0];
  if (v === NO_VALUE) return { value: '<no value>' };
  if (typeof v === 'object' && v !== null) return { error: 'the action yields a map, not a string' };
  return { value: str(v) };
}
