/**
 * Element names as the merged configuration spells them: `name@provider`. The merge qualifies every
 * name and the builders resolve unqualified references within the referring element's provider,
 * so both read and write names through these two functions.
 */

/** Qualifies `name` with `provider` unless it already names one (`x@file`). */
export function qualify(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

/** The provider part of a qualified name (`web@docker` → `docker`), '' when unqualified. */
export function providerOf(qualified: string): string {
  const at = qualified.lastIndexOf('@');
  return at < 0 ? '' : qualified.slice(at + 1);
}
