/**
 * Reads the file provider's source — one file or a directory tree — into one dynamic configuration.
 * All or nothing: if any file cannot be read or parsed, the whole load fails (the provider then keeps
 * its last good configuration); element-level problems only add diagnostics.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type { DynamicConfig } from '../../config/dynamic/types.ts';
import { parseDynamicText } from '../../config/dynamic/decode.ts';
import type { TextFormat } from '../../config/dynamic/parse-text.ts';
import type { Diagnostic } from '../../lib/diagnostics.ts';
import { errorMessage } from '../../lib/errors.ts';
import { mergeFileConfigs, type FileConfig } from './merge-configs.ts';

/** The outcome of one load. `fingerprint` changes whenever any byte or file name changes. */
export type LoadResult =
  | {
      readonly ok: true;
      readonly config: DynamicConfig;
      readonly diagnostics: Diagnostic[];
      readonly fingerprint: string;
    }
  | { readonly ok: false; readonly error: string };

/** Files larger than this are refused rather than parsed (a runaway generator, a wrong path). */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/** The syntaxes Traefik's file provider reads, by extension. */
const FORMATS: Record<string, TextFormat> = { '.yml': 'yaml', '.yaml': 'yaml', '.json': 'json', '.toml': 'toml' };

/** Loads a single file. */
export async function loadFile(path: string): Promise<LoadResult> {
  const text = await readText(path);
  if (typeof text !== 'string') return { ok: false, error: text.error };
  const parsed = parseDynamicText(text, `file ${path}`, FORMATS[extname(path).toLowerCase()]);
  if (!parsed.config) return { ok: false, error: `${path}: ${parsed.diagnostics[0]?.message ?? 'unusable'}` };
  return { ok: true, config: parsed.config, diagnostics: parsed.diagnostics, fingerprint: hash([path, text]) };
}

/**
 * Loads every `*.yml`, `*.yaml`, `*.toml` and `*.json` below `dir`, in path order. Entries whose name starts with
 * a dot are skipped: editors' temporary files, and Kubernetes ConfigMap mounts, whose `..data`
 * directory would otherwise load every file twice.
 */
export async function loadDirectory(dir: string): Promise<LoadResult> {
  const source = `file provider directory ${dir}`;
  let paths: string[];
  try {
    paths = await listFiles(dir);
  } catch (err) {
    return { ok: false, error: `cannot read directory ${dir}: ${errorMessage(err)}` };
  }
  const files: FileConfig[] = [];
  const diagnostics: Diagnostic[] = [];
  const parts: string[] = [];
  for (const path of paths) {
    const ext = extname(path).toLowerCase();
    const text = await readText(path);
    if (typeof text !== 'string') {
      if (text.vanished) continue; // deleted between listing and reading: the next event reloads
      return { ok: false, error: text.error };
    }
    const parsed = parseDynamicText(text, `file ${path}`, FORMATS[ext]);
    if (!parsed.config) return { ok: false, error: `${path}: ${parsed.diagnostics[0]?.message ?? 'unusable'}` };
    files.push({ path: relative(dir, path), config: parsed.config });
    diagnostics.push(...parsed.diagnostics);
    parts.push(path, text);
  }
  const merged = mergeFileConfigs(files, source);
  return {
    ok: true,
    config: merged.config,
    diagnostics: [...diagnostics, ...merged.diagnostics],
    fingerprint: hash(parts),
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      const s = await stat(path).catch(() => undefined);
      isDir = s?.isDirectory() ?? false;
      isFile = s?.isFile() ?? false;
    }
    if (isDir) out.push(...(await listFiles(path)));
    else if (isFile && FORMATS[extname(e.name).toLowerCase()] !== undefined) out.push(path);
  }
  return out;
}

async function readText(path: string): Promise<string | { error: string; vanished: boolean }> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return { error: `${path}: not a regular file`, vanished: false };
    if (s.size > MAX_FILE_BYTES) return { error: `${path}: larger than ${MAX_FILE_BYTES} bytes`, vanished: false };
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { error: `cannot read ${path}: ${errorMessage(err)}`, vanished: code === 'ENOENT' };
  }
}

function hash(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}
