/** A matcher call in a rule, e.g. Host(`a.example`); `name` is the canonical spelling. */
export interface MatcherNode {
  readonly kind: 'matcher';
  readonly name: string;
  readonly args: readonly string[];
  /** 0-based offset of the matcher name in the rule. */
  readonly pos: number;
}

/** `!operand`. */
export interface NotNode {
  readonly kind: 'not';
  readonly operand: RuleNode;
}

/** `a && b && …` or `a || b || …`, flattened so long chains do not nest deeply. */
export interface ListNode {
  readonly kind: 'and' | 'or';
  readonly items: readonly RuleNode[];
}

/** The syntax tree of a rule, shared by the HTTP and TCP rule languages. */
export type RuleNode = MatcherNode | NotNode | ListNode;

/**
 * The matchers a rule language knows, with the numbers of arguments each accepts; `many` is one or
 * more (the v2 language's matchers take lists: Host(`a`, `b`)).
 */
export type MatcherTable = Readonly<Record<string, readonly number[] | 'many'>>;
