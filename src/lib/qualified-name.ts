/**
 * Element names are qualified by their provider, Traefik style (`web@docker`): a reference without
 * `@` resolves within the referring element's own provider. The one place both directions live.
 */

/** Qualifies `name` with `provider` unless it already names one (`x@file`). */
export function qualify(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

/** The provider part of a qualified name (`web@docker` → `docker`), `''` when unqualified. */
export function providerOf(qualified: string): string {
  const at = qualified.lastIndexOf('@');
  return at < 0 ? '' : qualified.slice(at + 1);
}
