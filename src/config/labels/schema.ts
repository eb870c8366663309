/**
 * The label grammar, derived from the one declaration of the dynamic configuration: which element
 * schema a `traefik.<protocol>.<section>.<name>.…` label addresses, and how a label's text becomes
 * the value of the key it sets (Go's rules, as Traefik's label parser). Label paths are matched
 * case-insensitively, so `stsseconds` lands on `stsSeconds`.
 */
import { dynamicConfigSchema, tlsStoreSchema } from '../dynamic/schema.ts';
import { boundsOf, entriesOf, itemOf, kindOf, optionsOf } from '../schema/introspect.ts';
import type { Schema } from '../schema/kit.ts';
import { convertScalar, type Converted, type ScalarType } from './values.ts';

type Protocol = 'http' | 'tcp' | 'udp';

function sectionsOf(protocol: Protocol): Readonly<Record<string, Schema>> {
  const out: Record<string, Schema> = {};
  for (const [name, section] of Object.entries(entriesOf(entriesOf(dynamicConfigSchema)[protocol]!)))
    out[name.toLowerCase()] = itemOf(section);
  return out;
}

/** Element schemas under `traefik.<protocol>.<section>.<name>.`, by lower-case section segment. */
export const ELEMENT_SCHEMAS: Readonly<Record<Protocol, Readonly<Record<string, Schema>>>> = {
  http: sectionsOf('http'),
  tcp: sectionsOf('tcp'),
  udp: sectionsOf('udp'),
};

/** `traefik.tls.stores.default.*`: labels address the default store (its generated certificate). */
export const TLS_DEFAULT_STORE: Schema = tlsStoreSchema;

/** How a label's text is read for a leaf of the declaration. */
export function scalarTypeOf(leaf: Schema): ScalarType {
  switch (kindOf(leaf)) {
    case 'number': {
      const b = boundsOf(leaf);
      if (!b.integer) return { kind: 'float' };
      return {
        kind: 'int',
        ...(b.min !== undefined ? { min: b.min } : {}),
        ...(b.max !== undefined ? { max: b.max } : {}),
      };
    }
    case 'boolean':
      return { kind: 'bool' };
    case 'duration':
      return { kind: 'duration' };
    case 'list':
      return { kind: 'list' };
    case 'enum':
      return { kind: 'enum', values: optionsOf(leaf) };
    default:
      return { kind: 'string' };
  }
}

/** Converts one label's text to the value of the key it sets. */
export function convertLabel(leaf: Schema, text: string): Converted {
  return convertScalar(scalarTypeOf(leaf), text);
}
