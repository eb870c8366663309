/**
 * Reads the static configuration from its source — `berth.yaml` or a Traefik `traefik.yml`,
 * `traefik.toml` or JSON file, Traefik's CLI flags, `TRAEFIK_*` variables, or the embedded default —
 * and decodes it. Unreadable files and syntax errors are diagnostics, never throws.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { errorMessage } from '../../lib/errors.ts';
import { parseDocumentText } from '../dynamic/parse-text.ts';
import { decodeStaticConfig, type StaticDecodeResult } from './decode.ts';
import { DEFAULT_CONFIG_YAML } from './default-config.ts';
import { describeSource, documentFromEnv, documentFromFlags, type StaticSource } from './sources.ts';

/** What `loadStaticConfig` returns; `source` names the input as the diagnostics do. */
export interface StaticLoadResult extends StaticDecodeResult {
  source: string;
}

/** Diagnostic source naming the embedded default configuration. */
export const EMBEDDED_SOURCE = 'embedded default config';

/** Loads the static configuration from the source `chooseStaticSource` picked. */
export async function loadStaticSource(from: StaticSource): Promise<StaticLoadResult> {
  if (from.kind === 'file') return loadStaticConfig(from.path);
  if (from.kind === 'embedded') return loadStaticConfig(undefined);
  const source = describeSource(from);
  const doc = from.kind === 'flags' ? documentFromFlags(from.flags) : documentFromEnv(from.vars);
  const decoded = decodeStaticConfig(doc.value, source);
  const diagnostics = [...doc.diagnostics, ...decoded.diagnostics];
  const failed = diagnostics.some((d) => d.level === 'error');
  return failed || decoded.config === undefined
    ? { diagnostics, source }
    : { config: decoded.config, diagnostics, source };
}

/**
 * Loads the static configuration from `path` (YAML; TOML or JSON by the `.toml` or `.json`
 * extension; YAML also accepts JSON), or the embedded default when `path` is undefined.
 */
export async function loadStaticConfig(path: string | undefined): Promise<StaticLoadResult> {
  if (path === undefined)
    return { ...parseStaticConfigText(DEFAULT_CONFIG_YAML, EMBEDDED_SOURCE), source: EMBEDDED_SOURCE };
  const source = `file ${path}`;
  const ext = extname(path).toLowerCase();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : `cannot read: ${errorMessage(err)}`;
    return { source, diagnostics: [diagError(source, undefined, message)] };
  }
  return {
    ...parseStaticConfigText(text, source, ext === '.json' ? 'json' : ext === '.toml' ? 'toml' : 'yaml'),
    source,
  };
}

/** Parses and decodes configuration text; exported for tests and `berth check` on stdin. */
export function parseStaticConfigText(
  text: string,
  source: string,
  format: 'yaml' | 'json' | 'toml' = 'yaml',
): StaticDecodeResult {
  const parsed =
    format === 'json' ? parseJson(text, source) : format === 'toml' ? parseToml(text, source) : parseYaml(text, source);
  if (parsed.diagnostics.some((d) => d.level === 'error')) return { diagnostics: parsed.diagnostics };
  const decoded = decodeStaticConfig(parsed.value, source);
  return { ...decoded, diagnostics: [...parsed.diagnostics, ...decoded.diagnostics] };
}

function parseYaml(text: string, source: string): { value: unknown; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const at = (pos: number): string => {
    // Point at the offending token rather than the indentation before it.
    while (text[pos] === ' ' || text[pos] === '\t') pos++;
    const { line, col } = lineCounter.linePos(pos);
    return `line ${line}, column ${col}`;
  };
  const diagnostics: Diagnostic[] = [
    ...doc.errors.map((e) => diagError(source, at(e.pos[0]), `YAML syntax error: ${e.message}`)),
    ...doc.warnings.map((w) => diagWarning(source, at(w.pos[0]), `YAML: ${w.message}`)),
  ];
  if (doc.errors.length > 0) return { value: undefined, diagnostics };
  try {
    return { value: doc.toJS({ maxAliasCount: 1000 }), diagnostics };
  } catch (err) {
    // e.g. alias expansion beyond maxAliasCount (a "billion laughs" document).
    return {
      value: undefined,
      diagnostics: [...diagnostics, diagError(source, undefined, `YAML: ${errorMessage(err)}`)],
    };
  }
}

function parseToml(text: string, source: string): { value: unknown; diagnostics: Diagnostic[] } {
  const r = parseDocumentText(text, 'toml');
  return r.ok
    ? { value: r.value, diagnostics: [] }
    : { value: undefined, diagnostics: [diagError(source, undefined, r.error)] };
}

function parseJson(text: string, source: string): { value: unknown; diagnostics: Diagnostic[] } {
  try {
    return { value: JSON.parse(text), diagnostics: [] };
  } catch (err) {
    return { value: undefined, diagnostics: [diagError(source, undefined, `JSON syntax error: ${errorMessage(err)}`)] };
  }
}
