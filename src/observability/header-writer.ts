import type { FieldMode } from './access-log-format.ts';
import { canonicalHeader } from './line-values.ts';

/** Appends `"prefix_Name":"value",` for the logged headers of one request. */
export type HeaderWriter = (prefix: string, h: Readonly<Record<string, unknown>>) => string;

/** The writer of the logged header fields, or undefined when none is logged. */
export function compileHeaderWriter(
  headerDefault: FieldMode,
  headerNames: ReadonlyMap<string, FieldMode>,
): HeaderWriter | undefined {
  const named = [...headerNames]
    .filter(([, m]) => m !== 'drop')
    .map(([k, m]) => ({ lower: k, canonical: canonicalHeader(k), redact: m === 'redact' }));
  const field = (key: string, v: unknown, redact: boolean): string =>
    JSON.stringify(key) +
    ':' +
    (redact ? '"REDACTED"' : JSON.stringify(Array.isArray(v) ? v.join(',') : String(v))) +
    ',';
  if (headerDefault !== 'drop') {
    return (prefix, h) => {
      let out = '';
      for (const k in h) {
        const m = headerNames.get(k) ?? headerDefault;
        if (m === 'drop') continue;
        const v = h[k];
        if (v === undefined) continue;
        out += field(prefix + canonicalHeader(k), v, m === 'redact');
      }
      return out;
    };
  }
  if (named.length === 0) return undefined;
  return (prefix, h) => {
    let out = '';
    for (const n of named) {
      const v = h[n.lower];
      if (v !== undefined) out += field(prefix + n.canonical, v, n.redact);
    }
    return out;
  };
}
