/**
 * Every key of a declaration, as schema paths (`http.routers.*.tls.certResolver`): for the tests
 * that hold each key to a behaviour or a warning, and for the lists compared with Traefik's reference.
 */
import { entriesOf, itemOf, kindOf, unwrap } from './introspect.ts';
import { metaOf, type Schema } from './kit.ts';

/** One key: its schema path and whether it holds other keys (an object) or a value. */
export interface KeyPath {
  readonly path: string;
  readonly leaf: boolean;
  /** Only labels (and flat sources) write it: Traefik's label form of a list (`loadBalancer.server.port`). */
  readonly labelOnly: boolean;
}

/** All keys below `schema`, depth first, in declaration order. */
export function keyPaths(schema: Schema, prefix = '', labelOnly = false): KeyPath[] {
  const out: KeyPath[] = [];
  const s = unwrap(schema).schema;
  switch (kindOf(s)) {
    case 'object':
      for (const [name, field] of Object.entries(entriesOf(s))) {
        const path = prefix === '' ? name : `${prefix}.${name}`;
        const f = unwrap(field).schema;
        const k = kindOf(f);
        const container =
          k === 'object' ||
          (k === 'list' && kindOf(itemOf(f)) === 'object') ||
          (k === 'record' && kindOf(itemOf(f)) === 'object');
        out.push({ path, leaf: !container, labelOnly });
        if (container) out.push(...keyPaths(f, path, labelOnly));
        const alt = metaOf(f).label;
        if (alt !== undefined) {
          const fileKeys = new Set(Object.keys(entriesOf(itemOf(f))));
          for (const altName of Object.keys(entriesOf(alt.schema))) {
            if (!fileKeys.has(altName)) out.push({ path: `${path}.${altName}`, leaf: true, labelOnly: true });
          }
        }
      }
      return out;
    case 'record':
      return kindOf(itemOf(s)) === 'object' ? keyPaths(itemOf(s), `${prefix}.*`, labelOnly) : out;
    case 'list':
      return kindOf(itemOf(s)) === 'object' ? keyPaths(itemOf(s), prefix, labelOnly) : out;
    default:
      return out;
  }
}
