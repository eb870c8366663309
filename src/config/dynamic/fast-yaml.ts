import { CORE_SCHEMA, defineMappingTag, load, mapTag, mergeTag } from 'js-yaml';

/**
 * Mappings as plain objects, as js-yaml builds them, but only with string keys: a null, number or
 * boolean key is turned into a property name differently by the two libraries (a null key is
 * `null` in js-yaml, empty in `yaml`), so such a document is left to the `yaml` library.
 */
const stringKeyedMap = defineMappingTag<Record<string, unknown>>(mapTag.tagName, {
  create: mapTag.create,
  addPair: (m, key, value) => (typeof key === 'string' ? mapTag.addPair(m, key, value) : 'a key that is not a string'),
  has: mapTag.has,
  keys: mapTag.keys,
  get: mapTag.get,
  identify: mapTag.identify,
});

/** YAML 1.2 core schema with `<<` merge keys: what berth asks of the `yaml` library too. */
const SCHEMA = CORE_SCHEMA.withTags(mergeTag, stringKeyedMap);

/**
 * The first reading of a YAML configuration file, with js-yaml: it builds the values straight from
 * the parser's events, several times faster than the `yaml` library's document tree on a cold
 * start (a 10,000-router file). Documents it does not take return undefined and go to the `yaml`
 * library, whose values and positioned error messages stay the reference: anything js-yaml
 * rejects (syntax errors, duplicate keys), any alias (the library bounds how far aliases expand)
 * and keys that are not strings.
 */
export function parseYamlFast(text: string): { value: unknown } | undefined {
  try {
    const value = load(text, { schema: SCHEMA, maxAliases: 0 });
    return value === undefined || value === null ? undefined : { value };
  } catch {
    return undefined;
  }
}
