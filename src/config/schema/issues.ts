/**
 * What the decoders report, and the small helpers every one of them words its messages with.
 */

/** One problem found while decoding, with the dotted path of the key to change. */
export interface Issue {
  readonly level: 'error' | 'warning';
  /** `http.routers.api.rule`, `tls.certificates[0].certFile`; '' for the document itself. */
  readonly path: string;
  readonly message: string;
}

/**
 * Keys and values that are accepted without effect. `spath` is the key's schema path, names
 * replaced by `*` (`http.services.*.loadBalancer.passiveHealthCheck`); each answer is the warning
 * to give, or undefined.
 */
export interface Warnings {
  /** For a key that is present (with this value): ignored, with this warning. */
  key(spath: string, value: unknown): string | undefined;
  /** For a value that is kept but does not do what it says. */
  value(spath: string, value: unknown): string | undefined;
}

/** No warnings: every key takes effect. */
export const NO_WARNINGS: Warnings = { key: () => undefined, value: () => undefined };

/** True for a plain mapping (not null, not a list). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Names a value for messages: `number 5`, `"text"`, `a list`, … */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Appends a key to a dotted path. */
export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
