/**
 * The order routers are tried in: higher priority first; equal priorities by name, ascending.
 * Traefik sorts by priority only (its tie order follows map iteration, i.e. is unspecified);
 * berth breaks ties by name so the same configuration always routes the same way.
 */
export function compareRouters(
  a: { readonly name: string; readonly priority: number },
  b: { readonly name: string; readonly priority: number },
): number {
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
