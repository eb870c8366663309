/**
 * Decoding of Traefik v3 dynamic configuration from untrusted data (file provider, HTTP provider).
 * Keys are matched case-insensitively and normalised to the canonical camelCase of `types.ts`; an
 * element (router, service, middleware, transport, TLS certificate/options/store) that has a wrong
 * type or an unknown key is dropped alone with an error diagnostic naming its path
 * (`http.routers.api.rule: expected a string, got number 5`); everything else is kept.
 */
import type { DynamicConfig } from './types.ts';
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { decodeDocument } from '../schema/decode.ts';
import { isPlainObject, type Issue } from '../schema/issues.ts';
import { DYNAMIC_WARNINGS } from '../warned.ts';
import { dynamicConfigSchema } from './schema.ts';
import { parseDocumentText, type TextFormat } from './parse-text.ts';

/** What a decoder returns: whatever could be kept, and the problems found. */
export interface DecodeResult {
  readonly config: DynamicConfig;
  readonly diagnostics: Diagnostic[];
}

/**
 * Validates an already-parsed document (`JSON.parse` / YAML output) against Traefik's dynamic shape.
 * Never throws; `source` names where the data came from (`file /etc/berth/dyn.yml`).
 */
export function decodeDynamicConfig(raw: unknown, source: string): DecodeResult {
  if (raw === null || raw === undefined) return { config: {}, diagnostics: [] };
  if (!isPlainObject(raw)) {
    return {
      config: {},
      diagnostics: [diagError(source, undefined, 'expected an object with http, tcp, udp or tls sections')],
    };
  }
  const issues: Issue[] = [];
  const config = decodeDocument(dynamicConfigSchema, raw, { issues, warnings: DYNAMIC_WARNINGS });
  const diagnostics = issues.map((i) =>
    i.level === 'error'
      ? diagError(source, i.path || undefined, i.message)
      : diagWarning(source, i.path || undefined, i.message),
  );
  // The root schema is a lenient section, so it always succeeds; the fallback only satisfies the types.
  return { config: config ?? {}, diagnostics };
}

/** What `parseDynamicText` returns: `config` is absent when the text could not be used at all. */
export interface ParseResult {
  readonly config?: DynamicConfig;
  readonly diagnostics: Diagnostic[];
}

/**
 * Parses YAML, TOML or JSON text and decodes it. Without `format`, text that looks like JSON is
 * parsed as JSON first, then as YAML (a JSON superset). `config` is undefined when the text is empty, is not
 * valid YAML/TOML/JSON (the diagnostic gives line and column) or is not an object; element-level problems
 * leave it defined and only add diagnostics.
 */
export function parseDynamicText(text: string, source: string, format?: TextFormat): ParseResult {
  const parsed = parseDocumentText(text, format);
  if (!parsed.ok) return { diagnostics: [diagError(source, undefined, parsed.error)] };
  if (!isPlainObject(parsed.value)) {
    const got = parsed.value === null ? 'null' : Array.isArray(parsed.value) ? 'a list' : `a ${typeof parsed.value}`;
    return {
      diagnostics: [diagError(source, undefined, `expected an object with http, tcp, udp or tls sections, got ${got}`)],
    };
  }
  return decodeDynamicConfig(parsed.value, source);
}
