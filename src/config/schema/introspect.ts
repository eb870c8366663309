/**
 * Reading a declaration back: what kind of value a schema wants, its children, its default, and
 * running its valibot checks on a value the decoders have already coerced. Shared by every decoder
 * (files, labels, flags, environment) and by the tests that walk every key.
 */
import { isRequired, metaOf, pipeOf, type Schema } from './kit.ts';

/** What a decoder does with a schema. */
export type Kind =
  | 'string'
  | 'number'
  | 'boolean'
  | 'duration'
  | 'enum'
  | 'list'
  | 'record'
  | 'object'
  | 'free'
  | 'custom';

interface Raw {
  readonly type: string;
  readonly wrapped?: Schema;
  readonly default?: unknown;
  readonly entries?: Readonly<Record<string, Schema>>;
  readonly item?: Schema;
  readonly value?: Schema;
  readonly options?: readonly string[];
}

// valibot's schemas are plain objects with these documented fields (`type`, `entries`, `item`, …);
// GenericSchema, the type every schema shares, names none of them.
const raw = (s: Schema): Raw => s as unknown as Raw;

/** The schema inside `exactOptional()`, and the default it gives. */
export function unwrap(schema: Schema): { schema: Schema; default?: unknown } {
  const r = raw(schema);
  if (r.type === 'exact_optional' || r.type === 'optional') {
    const inner = unwrap(r.wrapped!);
    return r.default === undefined ? inner : { schema: inner.schema, default: r.default };
  }
  const filled = metaOf(schema).default;
  return filled === undefined ? { schema } : { schema, default: filled };
}

/** The kind of value a schema wants. */
export function kindOf(schema: Schema): Kind {
  const s = unwrap(schema).schema;
  const meta = metaOf(s);
  switch (raw(s).type) {
    case 'string':
      return meta.duration ? 'duration' : 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'picklist':
      return 'enum';
    case 'array':
      return 'list';
    case 'record':
      return 'record';
    case 'strict_object':
    case 'object':
      return 'object';
    default:
      return meta.freeForm ? 'free' : 'custom';
  }
}

/** An object's keys → their schemas (still wrapped in `exactOptional`). */
export function entriesOf(schema: Schema): Readonly<Record<string, Schema>> {
  return raw(unwrap(schema).schema).entries ?? {};
}

/** The item schema of a list, or the value schema of a record. */
export function itemOf(schema: Schema): Schema {
  const r = raw(unwrap(schema).schema);
  return (r.type === 'array' ? r.item : r.value)!;
}

/** A picklist's values. */
export function optionsOf(schema: Schema): readonly string[] {
  return raw(unwrap(schema).schema).options ?? [];
}

/** True when an object key must be given. */
export function requiredKey(schema: Schema): boolean {
  return isRequired(schema);
}

/** The numeric bounds a number schema checks, for messages of sources that show them differently. */
export function boundsOf(schema: Schema): { integer: boolean; min?: number; max?: number } {
  return metaOf(unwrap(schema).schema).bounds ?? { integer: false };
}

const CONFIG = {};

/**
 * Runs a schema's valibot checks and transforms on an already-coerced value: the value after
 * transforms, or the first problem's message.
 */
export function runChecks(
  schema: Schema,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const pipe = pipeOf(unwrap(schema).schema);
  if (pipe.length === 0) return { ok: true, value };
  let dataset: { typed: boolean; value: unknown; issues?: { message: string }[] } = { typed: true, value };
  for (const item of pipe) {
    if (item.kind !== 'validation' && item.kind !== 'transformation') continue;
    dataset = item['~run'](dataset, CONFIG);
    const issue = dataset.issues?.[0];
    if (issue !== undefined) return { ok: false, message: issue.message };
  }
  return { ok: true, value: dataset.value };
}
