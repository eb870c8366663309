/**
 * Reads `berth.yaml` (or a Traefik `traefik.yml`, or JSON) from disk — or the embedded default when
 * no path is given — and decodes it. Unreadable files and syntax errors are diagnostics, never throws.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { errorMessage } from '../../lib/errors.ts';
import { decodeStaticConfig, type StaticDecodeResult } from './decode.ts';
import { DEFAULT_CONFIG_YAML } from './default-config.ts';

/** What `loadStaticConfig` returns; `source` names the input as the diagnostics do. */
export interface StaticLoadResult extends StaticDecodeResult {
  source: string;
}

/** Diagnostic source naming the embedded default configuration. */
export const EMBEDDED_SOURCE = 'embedded default config';

/**
 * Loads the static configuration from `path` (YAML, or JSON by the `.json` extension; YAML also
 * accepts JSON), or the embedded default when `path` is undefined.
 */
export async function loadStaticConfig(path: string | undefined): Promise<StaticLoadResult> {
  if (path === undefined) return { ...parseStaticConfigText(DEFAULT_CONFIG_YAML, EMBEDDED_SOURCE), source: EMBEDDED_SOURCE };
  const source = `file ${path}`;
  const ext = extname(path).toLowerCase();
  if (ext === '.toml') {
    return { source, diagnostics: [diagError(source, undefined, 'TOML is not supported; write the same keys in YAML (berth.yaml)')] };
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot read: ${errorMessage(err)}`;
    return { source, diagnostics: [diagError(source, undefined, message)] };
  }
  return { ...parseStaticConfigText(text, source, ext === '.json' ? 'json' : 'yaml'), source };
}

/** Parses and decodes configuration text; exported for tests and `berth check` on stdin. */
export function parseStaticConfigText(text: string, source: string, format: 'yaml' | 'json' = 'yaml'): StaticDecodeResult {
  const parsed = format === 'json' ? parseJson(text, source) : parseYaml(text, source);
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
    return { value: undefined, diagnostics: [...diagnostics, diagError(source, undefined, `YAML: ${errorMessage(err)}`)] };
  }
}

function parseJson(text: string, source: string): { value: unknown; diagnostics: Diagnostic[] } {
  try {
    return { value: JSON.parse(text), diagnostics: [] };
  } catch (err) {
    return { value: undefined, diagnostics: [diagError(source, undefined, `JSON syntax error: ${errorMessage(err)}`)] };
  }
}
