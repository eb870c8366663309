/**
 * Label values are strings; these convert them to the type of the field they target, as Traefik's
 * label parser does (Go's strconv rules), and spot values no decoder should accept.
 */
import { parseDuration } from '../../lib/duration.ts';

/** The types a label's text converts to. */
export type ScalarType =
  | { readonly kind: 'string' }
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'float' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'duration' }
  /** Comma-separated strings (`entrypoints=web,websecure`). */
  | { readonly kind: 'list' }
  /** One of fixed values, matched case-insensitively. */
  | { readonly kind: 'enum'; readonly values: readonly string[] };

/** Labels longer than this are refused: no legitimate setting needs 64 KiB. */
export const MAX_LABEL_VALUE_BYTES = 64 * 1024;

/** Why a value (or key) is unsafe to put into configuration, or undefined when it is fine. */
export function hostileReason(text: string): string | undefined {
  if (/[\r\n]/.test(text)) return 'contains a line break (CR/LF)';
  if (text.includes('\0')) return 'contains a NUL byte';
  if (Buffer.byteLength(text, 'utf8') > MAX_LABEL_VALUE_BYTES) return `is longer than ${MAX_LABEL_VALUE_BYTES} bytes`;
  return undefined;
}

const TRUE_VALUES = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_VALUES = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's `strconv.ParseBool`: the spellings Traefik accepts, nothing else. */
export function parseBool(value: string): boolean | undefined {
  const v = value.trim();
  if (TRUE_VALUES.has(v)) return true;
  if (FALSE_VALUES.has(v)) return false;
  return undefined;
}

/** An integer in decimal, or undefined. */
export function parseInteger(value: string): number | undefined {
  const v = value.trim();
  if (!/^[+-]?\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Comma-separated list, items trimmed, empty items dropped. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Result of converting one scalar value. */
export type Converted = { ok: true; value: unknown } | { ok: false; message: string };

/** Converts a label value to a scalar type; objects, lists of objects and maps are handled by the caller. */
export function convertScalar(type: ScalarType, raw: string): Converted {
  const shown = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
  switch (type.kind) {
    case 'string':
      return { ok: true, value: raw };
    case 'int': {
      const n = parseInteger(raw);
      if (n === undefined) return { ok: false, message: `invalid value "${shown}": expected an integer` };
      if ((type.min !== undefined && n < type.min) || (type.max !== undefined && n > type.max)) {
        return {
          ok: false,
          message: `invalid value "${shown}": expected an integer from ${type.min ?? '-∞'} to ${type.max ?? '∞'}`,
        };
      }
      return { ok: true, value: n };
    }
    case 'float': {
      const n = raw.trim() === '' ? NaN : Number(raw.trim());
      return Number.isFinite(n)
        ? { ok: true, value: n }
        : { ok: false, message: `invalid value "${shown}": expected a number` };
    }
    case 'bool': {
      const b = parseBool(raw);
      return b === undefined
        ? { ok: false, message: `invalid value "${shown}": expected true or false` }
        : { ok: true, value: b };
    }
    case 'duration':
      return parseDuration(raw) === undefined
        ? {
            ok: false,
            message: `invalid value "${shown}": expected a duration such as 10s, 500ms or a number of seconds`,
          }
        : { ok: true, value: raw.trim() };
    case 'list':
      return { ok: true, value: splitList(raw) };
    case 'enum': {
      const hit = type.values.find((x) => x.toLowerCase() === raw.trim().toLowerCase());
      return hit === undefined
        ? { ok: false, message: `invalid value "${shown}": expected one of ${type.values.join(', ')}` }
        : { ok: true, value: hit };
    }
  }
}
