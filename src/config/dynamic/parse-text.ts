/**
 * YAML/JSON syntax layer of the dynamic-config decoders: text → plain data, or one error message with
 * line and column. Knows nothing about Traefik's shape.
 */
import { createRequire } from 'node:module';
import { isMap, isScalar, parseDocument, visit, type Document } from 'yaml';
import { errorMessage } from '../../lib/errors.ts';
import { locateJsonError } from './json-error.ts';
import { parseYamlFast } from './fast-yaml.ts';

/** Parsed data, or why the text is unusable. */
export type ParsedText =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: string };

/** The syntaxes configuration files are written in, as Traefik reads them (chosen by extension). */
export type TextFormat = 'yaml' | 'json' | 'toml';

/** `.toml` → toml, `.json` → json, anything else YAML (a JSON superset). */
export function formatOfPath(path: string): TextFormat {
  const lower = path.toLowerCase();
  return lower.endsWith('.toml') ? 'toml' : lower.endsWith('.json') ? 'json' : 'yaml';
}

/** YAML aliases expand; this bounds "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses `text` as JSON or YAML. Without `format`, text starting with `{` or `[` is tried as JSON first
 * (its error wins if YAML fails too), anything else as YAML. Empty text is an error (a truncated write
 * must never read as "no configuration"); a YAML document holding only comments is `{}`.
 */
export function parseDocumentText(text: string, format?: TextFormat): ParsedText {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return { ok: false, error: 'the document is empty' };
  if (format === 'json') return parseJson(text);
  if (format === 'toml') return parseToml(text);
  if (format === 'yaml') return parseYaml(text);
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    const json = parseJson(text);
    if (json.ok) return json;
    const yaml = parseYaml(text);
    return yaml.ok ? yaml : json;
  }
  return parseYaml(text);
}

type TomlParser = { parse(text: string): unknown };
let toml: TomlParser | undefined;

/** TOML through smol-toml, loaded on the first TOML document only. */
function parseToml(text: string): ParsedText {
  toml ??= createRequire(import.meta.url)('smol-toml') as TomlParser;
  try {
    return { ok: true, value: toml.parse(text) };
  } catch (err) {
    const e = err as { line?: unknown; column?: unknown };
    const detail = errorMessage(err)
      .split('\n')[0]!
      .replace(/^Invalid TOML document: /, '');
    const at =
      typeof e.line === 'number' && typeof e.column === 'number' ? ` at line ${e.line}, column ${e.column}` : '';
    return { ok: false, error: `TOML syntax error${at}: ${detail}` };
  }
}

function parseJson(text: string): ParsedText {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const offset = locateJsonError(text);
    // V8 appends its own position on some messages; ours is computed the same way for all of them.
    const detail = errorMessage(err)
      .replace(/ in JSON at position \d+.*$/, '')
      .replace(/, ".*" is not valid JSON$/s, '');
    if (offset < 0) return { ok: false, error: `JSON syntax error: ${detail}` };
    const { line, col } = lineCol(text, offset);
    return { ok: false, error: `JSON syntax error at line ${line}, column ${col}: ${detail}` };
  }
}

function parseYaml(text: string): ParsedText {
  const fast = parseYamlFast(text);
  if (fast) return { ok: true, value: fast.value };
  try {
    // The library's own unique-key check compares each key with every earlier one (quadratic: ~10 s and
    // >100 MB of garbage for 10,000 routers); duplicateKey() does the same check with a set per map.
    const doc = parseDocument(text, { merge: true, uniqueKeys: false, prettyErrors: true });
    const first = doc.errors[0];
    if (first) {
      const pos = first.linePos?.[0];
      const detail = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return {
        ok: false,
        error: pos
          ? `YAML syntax error at line ${pos.line}, column ${pos.col}: ${detail}`
          : `YAML syntax error: ${detail}`,
      };
    }
    const dup = duplicateKey(doc);
    if (dup >= 0) {
      const { line, col } = lineCol(text, dup);
      return { ok: false, error: `YAML syntax error at line ${line}, column ${col}: Map keys must be unique` };
    }
    if (doc.contents === null) return { ok: true, value: {} };
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    return { ok: false, error: `YAML error: ${errorMessage(err)}` };
  }
}

/**
 * Offset of the first key that repeats an earlier scalar key of the same mapping (the `yaml` library's
 * `uniqueKeys: true` rule: scalar keys with the same value), or -1.
 */
function duplicateKey(doc: Document): number {
  let first = -1;
  visit(doc, {
    Map(_key, map) {
      if (!isMap(map)) return;
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const k = pair.key;
        if (!isScalar(k) || (typeof k.value === 'number' && Number.isNaN(k.value))) continue;
        if (seen.has(k.value)) {
          const at = k.range?.[0] ?? -1;
          if (at >= 0 && (first < 0 || at < first)) first = at;
        } else {
          seen.add(k.value);
        }
      }
    },
  });
  return first;
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}
