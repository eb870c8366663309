/**
 * Builders for the one declaration of berth's configuration shape (static and dynamic), on valibot.
 * A declaration is plain valibot schemas: the TypeScript types are inferred from them, and the
 * decoders (files, HTTP provider, labels, CLI flags, environment) walk them. What valibot has no
 * word for — Go durations, "dropped alone" elements, `true` meaning "enabled with defaults" — is
 * metadata in the schema's pipe (`v.metadata`), read back by `metaOf`.
 *
 * Inside `obj({...})` every key is optional unless wrapped in `req()`, as nearly every Traefik key is.
 */
import * as v from 'valibot';
import { parseDuration } from '../../lib/duration.ts';

/** valibot itself, for the few declarations that need more than these builders (pipes, checks). */
export { v };

/** Any schema of the declaration. */
export type Schema = v.GenericSchema;

/** What a schema says beyond valibot's own vocabulary. */
export type Meta = {
  /** A Go duration (`10s`, `1m30s`) or a number of seconds; decoded to a duration string. */
  readonly duration?: true;
  /** Object: `true` (or a label `x=true`) stands for `{}` and `false` for absent. */
  readonly allowEmpty?: true;
  /** Record or list: each entry is an element of its own, dropped alone when bad. */
  readonly elements?: true;
  /** Object: a bad key is reported and skipped; the object stays. */
  readonly section?: true;
  /** Object: exactly one of its keys must be present (a middleware's type); the noun for messages. */
  readonly exactlyOne?: string;
  /** String: a number in the input is accepted as its text (status codes, header values). */
  readonly fromNumber?: true;
  /** Picklist: other spellings accepted for a value (`warning` → `warn`). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Object: explanations for keys that are not in the object but often put there by mistake. */
  readonly hints?: Readonly<Record<string, string>>;
  /** Accepted with a warning saying what to use instead. */
  readonly deprecated?: string;
  /** A key only labels (and flat sources) can set, as Traefik's `file:"-"` fields. */
  readonly labelOnly?: true;
  /** The label form of a list of objects: a single object under another name (`servers` → `server`). */
  readonly label?: { readonly name: string; readonly schema: Schema };
  /** Free-form data kept as given (plugin options, unimplemented Traefik sections). */
  readonly freeForm?: true;
  /** For decoders written as a transform: what the value should look like, for messages. */
  readonly expected?: string;
  /** A default the decoders fill in while the type keeps the key optional (see `fill`). */
  readonly default?: unknown;
  /** Number: what its check accepts, for sources that word the bounds their own way (labels). */
  readonly bounds?: { readonly integer: boolean; readonly min?: number; readonly max?: number };
};

/** The required marker `req()` leaves on a schema's type, read by `obj()`'s type. */
export interface Required {
  readonly '~required': true;
}

const metas = new WeakMap<object, Meta>();

/** The items of a schema's pipe, including those of a piped schema it starts from, in order. */
export function pipeOf(schema: Schema): readonly PipeItem[] {
  const pipe = (schema as { pipe?: readonly [Schema, ...PipeItem[]] }).pipe;
  if (pipe === undefined) return [];
  const [head, ...items] = pipe;
  return [...(head !== schema ? pipeOf(head) : []), ...items];
}

/** One action of a pipe, as the decoders run it. */
export interface PipeItem {
  readonly kind: string;
  readonly type: string;
  readonly requirement?: unknown;
  readonly metadata?: Meta;
  '~run'(
    dataset: { typed: boolean; value: unknown; issues?: { message: string }[] },
    config: object,
  ): { typed: boolean; value: unknown; issues?: { message: string }[] };
}

/** The metadata of a schema (merged over its pipe), `{}` when it has none. */
export function metaOf(schema: Schema): Meta {
  let m = metas.get(schema);
  if (m === undefined) {
    m = {};
    for (const item of pipeOf(schema)) if (item.type === 'metadata') m = { ...m, ...item.metadata };
    metas.set(schema, m);
  }
  return m;
}

/** Adds metadata to a schema, keeping its inferred type. */
export function withMeta<S extends Schema>(
  schema: S,
  meta: Meta,
): v.SchemaWithPipe<readonly [S, v.MetadataAction<v.InferOutput<S>, Meta>]> {
  return v.pipe(schema, v.metadata(meta));
}

/** Marks a key of `obj()` as required. */
export function req<S extends Schema>(schema: S): S & Required {
  const copy = { ...schema, '~required': true as const };
  return copy;
}

/** True for a key wrapped in `req()`. */
export function isRequired(schema: Schema): boolean {
  return (schema as Partial<Required>)['~required'] === true;
}

type Entries = Record<string, Schema>;
type OptionalEntries<E extends Entries> = {
  [K in keyof E]: E[K] extends Required
    ? E[K]
    : E[K] extends v.ExactOptionalSchema<Schema, unknown>
      ? E[K]
      : v.ExactOptionalSchema<E[K], undefined>;
};

/** An object whose keys are optional unless `req()`; unknown keys are refused by the decoders. */
export function obj<E extends Entries>(entries: E, meta?: Meta): v.StrictObjectSchema<OptionalEntries<E>, undefined> {
  const out: Record<string, Schema> = {};
  for (const [k, s] of Object.entries(entries)) {
    out[k] = isRequired(s) || (s as { type: string }).type === 'exact_optional' ? s : v.exactOptional(s);
  }
  // `out` holds exactly the entries OptionalEntries<E> describes; built key by key, TypeScript cannot follow.
  const schema = v.strictObject(out) as unknown as v.StrictObjectSchema<OptionalEntries<E>, undefined>;
  return meta === undefined ? schema : withMeta(schema, meta);
}

/** A key with a default: present in the decoded value whenever its parent object is. */
export function dflt<S extends Schema>(schema: S, value: v.InferInput<S>): v.ExactOptionalSchema<S, v.InferOutput<S>> {
  return v.exactOptional(schema, value);
}

/**
 * A default the decoders fill in whenever the parent object is present, while the inferred type
 * keeps the key optional: for values the code reads with its own fallback, and for shapes built by
 * hand elsewhere (tests, generated entrypoints) that need not spell every default.
 */
export function fill<S extends Schema>(
  schema: S,
  value: v.InferInput<S>,
): v.ExactOptionalSchema<ReturnType<typeof withMeta<S>>, undefined> {
  return v.exactOptional(withMeta(schema, { default: value }));
}

/** An object switched on by its presence: `true`, `null` and `{}` mean "enabled with defaults". */
export function toggle<E extends Entries>(entries: E): v.StrictObjectSchema<OptionalEntries<E>, undefined> {
  return obj(entries, { allowEmpty: true });
}

type Check = (value: string) => string | undefined;

/** A string, optionally checked (`check` returns the problem) or accepting numbers as text. */
export function str(o: { check?: Check; fromNumber?: boolean } = {}): v.GenericSchema<string> {
  let s: v.GenericSchema<string> = v.string();
  if (o.check !== undefined) {
    const check = o.check;
    s = v.pipe(
      v.string(),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const problem = check(dataset.value);
        if (problem !== undefined) addIssue({ message: problem });
      }),
    );
  }
  return o.fromNumber ? withMeta(s, { fromNumber: true }) : s;
}

/** A number; `integer`, `min` and `max` are checked by valibot with berth's wording. */
export function num(o: { integer?: boolean; min?: number; max?: number } = {}): v.GenericSchema<number> {
  if (!o.integer && o.min === undefined && o.max === undefined) return v.number();
  const what = o.integer ? 'an integer' : 'a number';
  const range =
    o.min !== undefined && o.max !== undefined
      ? ` between ${o.min} and ${o.max}`
      : o.min !== undefined
        ? ` >= ${o.min}`
        : o.max !== undefined
          ? ` <= ${o.max}`
          : '';
  const checked = v.pipe(
    v.number(),
    v.check(
      (n: number) =>
        !(o.integer && !Number.isInteger(n)) &&
        !(o.min !== undefined && n < o.min) &&
        !(o.max !== undefined && n > o.max),
      (issue) => `expected ${what}${range}, got ${String(issue.input)}`,
    ),
  );
  return withMeta(checked, {
    bounds: {
      integer: o.integer === true,
      ...(o.min !== undefined ? { min: o.min } : {}),
      ...(o.max !== undefined ? { max: o.max } : {}),
    },
  });
}

/** An integer, optionally bounded. */
export function int(o: { min?: number; max?: number } = {}): v.GenericSchema<number> {
  return num({ integer: true, ...o });
}

/** A TCP/UDP port number. */
export function port(): v.GenericSchema<number> {
  return int({ min: 1, max: 65535 });
}

/** true or false. */
export function bool(): v.GenericSchema<boolean> {
  return v.boolean();
}

const DURATION = withMeta(
  v.pipe(
    v.string(),
    v.check((s) => parseDuration(s) !== undefined),
  ),
  { duration: true },
);

/** A Go duration string (`10s`); a bare number of seconds is accepted and decoded to `"<n>s"`. */
export function dur(): v.GenericSchema<string> {
  return DURATION;
}

/** One of a fixed set of strings, matched case-insensitively, decoded to the spelling given here. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  aliases?: Readonly<Record<string, T[number]>>,
): v.PicklistSchema<T, undefined> {
  const s = v.picklist(values);
  return aliases === undefined ? s : withMeta(s, { aliases });
}

/** A list; for items that are scalars, a comma-separated string is accepted too (`web,websecure`). */
export function list<S extends Schema>(item: S, meta?: Meta): v.ArraySchema<S, undefined> {
  const s = v.array(item);
  return meta === undefined ? s : withMeta(s, meta);
}

/** Names → values: keys are the user's (element names, header names) and keep their case. */
export function rec<S extends Schema>(item: S, meta?: Meta): v.RecordSchema<v.StringSchema<undefined>, S, undefined> {
  const s = v.record(v.string(), item);
  return meta === undefined ? s : withMeta(s, meta);
}

/** Named elements (routers, services, …): a bad one is dropped alone. */
export function elements<S extends Schema>(item: S): v.RecordSchema<v.StringSchema<undefined>, S, undefined> {
  return rec(item, { elements: true });
}

/** Free-form data kept as given: plugin options, and Traefik sections berth does not implement. */
export function free(): v.GenericSchema<unknown> {
  return withMeta(v.unknown(), { freeForm: true });
}

/** A value with its own syntax (`10000-10010`): `decode` returns the value or the problem. */
export function custom<T>(
  expected: string,
  decode: (raw: unknown) => { value: T } | { error: string },
): v.GenericSchema<unknown, T> {
  const s = v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const r = decode(dataset.value);
      if ('error' in r) {
        addIssue({ message: r.error });
        return NEVER;
      }
      return r.value;
    }),
  );
  return withMeta(s, { expected });
}
