/**
 * The two rule languages of Traefik v3: `v3`, and `v2` (Traefik v2's matchers, kept so v2-era
 * configurations and labels keep working). The values `ruleSyntax` and `core.defaultRuleSyntax` accept;
 * here, below the rules, so the schemas can name them.
 */
export const RULE_SYNTAXES = ['v2', 'v3'] as const;

/** One rule language. */
export type RuleSyntax = (typeof RULE_SYNTAXES)[number];

/** The syntax a router's `ruleSyntax` selects: v2 only when it says so; anything else is v3 (Traefik's reading). */
export function ruleSyntaxOf(value: string | undefined): RuleSyntax {
  return value === 'v2' ? 'v2' : 'v3';
}
