import { OptionError } from './options.ts';

/** What a retry expression can ask about the last attempt. */
export interface RetryFacts {
  attempts: number;
  responseCode: number;
  isNetworkError: boolean;
}

/**
 * Traefik's `retryExpression` (buffering): `Attempts()`, `ResponseCode()`, `IsNetworkError()`,
 * integers, `== != < <= > >=`, `&& || !` and parentheses, e.g.
 * `IsNetworkError() && Attempts() < 2`. Parsed once into a predicate.
 */
export function compileRetryExpression(source: string): (facts: RetryFacts) => boolean {
  const tokens =
    source
      .match(
        /\s*(Attempts\(\)|ResponseCode\(\)|IsNetworkError\(\)|\d+|&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|[A-Za-z_]\w*|\S)/g,
      )
      ?.map((t) => t.trim()) ?? [];
  let pos = 0;
  type Node = (f: RetryFacts) => number | boolean;
  const fail = (msg: string): never => {
    throw new OptionError(`retryExpression: ${msg}`);
  };
  const peek = (): string | undefined => tokens[pos];
  const take = (): string | undefined => tokens[pos++];
  const or = (): Node => {
    let left = and();
    while (peek() === '||') {
      take();
      const l = left;
      const r = and();
      left = (f) => Boolean(l(f)) || Boolean(r(f));
    }
    return left;
  };
  const and = (): Node => {
    let left = cmp();
    while (peek() === '&&') {
      take();
      const l = left;
      const r = cmp();
      left = (f) => Boolean(l(f)) && Boolean(r(f));
    }
    return left;
  };
  const cmp = (): Node => {
    const left = unary();
    const op = peek();
    if (op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') {
      take();
      const right = unary();
      switch (op) {
        case '==':
          return (f) => left(f) === right(f);
        case '!=':
          return (f) => left(f) !== right(f);
        case '<':
          return (f) => Number(left(f)) < Number(right(f));
        case '<=':
          return (f) => Number(left(f)) <= Number(right(f));
        case '>':
          return (f) => Number(left(f)) > Number(right(f));
        default:
          return (f) => Number(left(f)) >= Number(right(f));
      }
    }
    return left;
  };
  const unary = (): Node => {
    const t = take();
    if (t === undefined) return fail('unexpected end');
    if (t === '!') {
      const inner = unary();
      return (f) => !inner(f);
    }
    if (t === '(') {
      const inner = or();
      if (take() !== ')') fail('missing ")"');
      return inner;
    }
    if (t === 'Attempts()') return (f) => f.attempts;
    if (t === 'ResponseCode()') return (f) => f.responseCode;
    if (t === 'IsNetworkError()') return (f) => f.isNetworkError;
    if (t === 'true') return () => true;
    if (t === 'false') return () => false;
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      return () => n;
    }
    return fail(`unexpected ${JSON.stringify(t)}`);
  };
  if (tokens.length === 0) fail('empty expression');
  const root = or();
  if (pos !== tokens.length) fail(`unexpected ${JSON.stringify(tokens[pos])}`);
  return (facts) => Boolean(root(facts));
}
