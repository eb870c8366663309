/**
 * The values a JSON access-log line derives from a capture's raw strings, written as Traefik
 * writes them.
 */

/** `user-agent` → `User-Agent`, Go's canonical MIME header key. */
export function canonicalHeader(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

/** Whether `s` needs more than quotes to be a JSON string (quote, backslash, controls, surrogates). */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** A JSON string literal. */
export function jsonString(s: string): string {
  return needsEscape(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** `host:port`, `[v6]:port`, or a bare host (port `-`, as Traefik). */
export function splitHostPort(v: string): [host: string, port: string] {
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end > 0) return [v.slice(1, end), v.charCodeAt(end + 1) === 58 ? v.slice(end + 2) : '-'];
  }
  const i = v.lastIndexOf(':');
  if (i > 0 && v.indexOf(':') === i) return [v.slice(0, i), v.slice(i + 1)];
  return [v, '-'];
}

/** `http://10.0.0.2:8080/x` → `10.0.0.2:8080` (Traefik's ServiceAddr). */
export function serviceAddr(url: string): string {
  const s = url.indexOf('//');
  const rest = s >= 0 ? url.slice(s + 2) : url;
  const e = rest.indexOf('/');
  return e >= 0 ? rest.slice(0, e) : rest;
}

/** Request body size as announced (`content-length`); 0 when absent or chunked. */
export function contentLength(v: string | string[] | undefined): number {
  if (typeof v !== 'string') return 0;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
