import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Where berth looks for Docker daemons when the configuration names none. */
export const DEFAULT_ENDPOINTS: readonly string[] = [
  'unix:///var/run/docker.sock',
  'unix:///var/run/rediacc/docker-*.sock',
];

/** One configured endpoint, parsed. */
export type EndpointSpec =
  | { readonly kind: 'unix'; readonly raw: string; readonly path: string }
  | { readonly kind: 'glob'; readonly raw: string; readonly pattern: string }
  | { readonly kind: 'tcp'; readonly raw: string; readonly host: string; readonly port: number; readonly tls: boolean };

/** A configured endpoint that cannot be used, with the reason. */
export interface EndpointProblem {
  readonly raw: string;
  readonly message: string;
}

const GLOB_CHARS = /[*?[]/;

/**
 * Parses `unix:///path`, `unix:///dir/docker-*.sock`, `tcp://host:port`, `http(s)://host:port`.
 * Never throws: unusable entries come back as problems. Duplicates are dropped.
 */
export function parseEndpoints(
  raws: readonly string[],
  tlsConfigured: boolean,
): { specs: EndpointSpec[]; problems: EndpointProblem[] } {
  const specs: EndpointSpec[] = [];
  const problems: EndpointProblem[] = [];
  const seen = new Set<string>();
  for (const raw0 of raws) {
    const raw = String(raw0).trim();
    if (seen.has(raw)) continue;
    seen.add(raw);
    const m = /^([a-z]+):\/\/(.*)$/i.exec(raw);
    const scheme = m?.[1]?.toLowerCase();
    const rest = m?.[2] ?? '';
    if (scheme === 'unix' || (!m && raw.startsWith('/'))) {
      const path = m ? rest : raw;
      if (!path.startsWith('/'))
        problems.push({ raw, message: 'a unix endpoint needs an absolute path (unix:///var/run/docker.sock)' });
      else if (GLOB_CHARS.test(path)) specs.push({ kind: 'glob', raw, pattern: path });
      else specs.push({ kind: 'unix', raw, path });
      continue;
    }
    if (scheme === 'tcp' || scheme === 'http' || scheme === 'https') {
      const hp = /^(\[[0-9a-f:.]+\]|[^:/[\]]+):(\d{1,5})\/?$/i.exec(rest);
      const port = Number(hp?.[2]);
      if (!hp?.[1] || !(port > 0 && port < 65536)) {
        problems.push({ raw, message: 'expected tcp://host:port' });
        continue;
      }
      specs.push({
        kind: 'tcp',
        raw,
        host: hp[1].replace(/^\[|\]$/g, ''),
        port,
        tls: scheme === 'https' || (scheme === 'tcp' && tlsConfigured),
      });
      continue;
    }
    problems.push({
      raw,
      message: `unsupported endpoint scheme${scheme ? ` "${scheme}"` : ''}: use unix://, tcp:// or a unix socket glob`,
    });
  }
  return { specs, problems };
}

/**
 * The daemon id berth uses in names and diagnostics: the socket's file name without `.sock`
 * (`/var/run/rediacc/docker-2816.sock` → `docker-2816`), or `host:port`.
 */
export function daemonIdForSocket(path: string): string {
  return basename(path).replace(/\.sock$/, '') || path;
}

/** Converts one glob segment (`*`, `?`, `[abc]`) to an anchored RegExp. */
function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = seg
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Expands a glob of unix sockets (wildcards allowed in any path segment) to the sockets that
 * exist now, sorted. Missing directories and unreadable entries simply match nothing.
 */
export async function expandSocketGlob(pattern: string): Promise<string[]> {
  const segs = pattern.split('/').filter((s) => s !== '');
  let bases = ['/'];
  for (const [i, seg] of segs.entries()) {
    const last = i === segs.length - 1;
    const next: string[] = [];
    for (const base of bases) {
      if (!GLOB_CHARS.test(seg)) {
        next.push(join(base, seg));
        continue;
      }
      const re = segmentRegExp(seg);
      let names: string[];
      try {
        names = await readdir(base);
      } catch {
        continue;
      }
      for (const n of names.sort())
        if (re.test(n) && !(n.startsWith('.') && !seg.startsWith('.'))) next.push(join(base, n));
    }
    bases = next;
    if (last) break;
  }
  const out: string[] = [];
  for (const p of bases) {
    try {
      if ((await stat(p)).isSocket()) out.push(p);
    } catch {
      // vanished or not there
    }
  }
  return out.sort();
}

/** The directory a glob pattern's first wildcard segment lives in (for diagnostics). */
export function globRoot(pattern: string): string {
  const idx = pattern.search(GLOB_CHARS);
  return idx < 0 ? dirname(pattern) : dirname(pattern.slice(0, idx + 1));
}
