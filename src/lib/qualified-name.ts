/**
 * Element names qualified with their provider (`web@docker`), as Traefik names them once the
 * providers' configurations are merged. Kept here, below every layer that reads them: the merge,
 * the compiler and the TCP, UDP and TLS builders.
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
