import type { MatcherNode, RuleNode } from './syntax.ts';

/** What a leaf builder produces for one matcher call: its test, or an error for the user. */
export type LeafResult<V> =
  | { readonly ok: true; readonly test: (view: V) => boolean }
  | { readonly ok: false; readonly error: string };

/**
 * Turns a syntax tree into one predicate, building each leaf once with `leaf`. `&&`/`||` short-circuit
 * left to right, as Traefik's matcher tree does. Returns the first leaf error.
 */
export function compileTree<V>(
  tree: RuleNode,
  leaf: (node: MatcherNode) => LeafResult<V>,
): { ok: true; match: (view: V) => boolean } | { ok: false; error: string } {
  switch (tree.kind) {
    case 'matcher': {
      const r = leaf(tree);
      return r.ok ? { ok: true, match: r.test } : r;
    }
    case 'not': {
      const inner = compileTree(tree.operand, leaf);
      if (!inner.ok) return inner;
      const f = inner.match;
      return { ok: true, match: (v) => !f(v) };
    }
    case 'and':
    case 'or': {
      const fns: ((view: V) => boolean)[] = [];
      for (const item of tree.items) {
        const c = compileTree(item, leaf);
        if (!c.ok) return c;
        fns.push(c.match);
      }
      return { ok: true, match: tree.kind === 'and' ? all(fns) : any(fns) };
    }
  }
}

function all<V>(fns: ((view: V) => boolean)[]): (view: V) => boolean {
  const [a, b] = fns as [(view: V) => boolean, (view: V) => boolean];
  if (fns.length === 2) return (v) => a(v) && b(v);
  return (v) => {
    for (let i = 0; i < fns.length; i++) if (!(fns[i] as (view: V) => boolean)(v)) return false;
    return true;
  };
}

function any<V>(fns: ((view: V) => boolean)[]): (view: V) => boolean {
  const [a, b] = fns as [(view: V) => boolean, (view: V) => boolean];
  if (fns.length === 2) return (v) => a(v) || b(v);
  return (v) => {
    for (let i = 0; i < fns.length; i++) if ((fns[i] as (view: V) => boolean)(v)) return true;
    return false;
  };
}

/**
 * The literal hosts one of which a request must carry for the tree to match, or null when the tree
 * can match other hosts too. `literal` names the hosts a single matcher requires (null: any host).
 * Exact for `||` (union) and `&&` (intersection); conservative (null) under `!`.
 */
export function literalHosts(
  tree: RuleNode,
  literal: (node: MatcherNode) => readonly string[] | null,
): readonly string[] | null {
  switch (tree.kind) {
    case 'matcher':
      return literal(tree);
    case 'not':
      return null;
    case 'or': {
      const union = new Set<string>();
      for (const item of tree.items) {
        const hosts = literalHosts(item, literal);
        if (hosts === null) return null;
        for (const h of hosts) union.add(h);
      }
      return [...union];
    }
    case 'and': {
      let acc: Set<string> | null = null;
      for (const item of tree.items) {
        const hosts = literalHosts(item, literal);
        if (hosts === null) continue;
        acc = acc === null ? new Set(hosts) : new Set(hosts.filter((h) => (acc as Set<string>).has(h)));
      }
      return acc === null ? null : [...acc];
    }
  }
}

/** Every matcher call in the tree that is not under a `!`. */
export function positiveMatchers(tree: RuleNode, out: MatcherNode[] = []): MatcherNode[] {
  if (tree.kind === 'matcher') out.push(tree);
  else if (tree.kind !== 'not') for (const item of tree.items) positiveMatchers(item, out);
  return out;
}
