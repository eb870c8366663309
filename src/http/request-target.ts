/**
 * One canonical path for routing, auth and forwarding (HARDENING: `%2e%2e`, `..`, `//`, encoded
 * slashes can never bypass a PathPrefix router). Percent-encoded unreserved characters are decoded,
 * dot segments resolved, repeated slashes collapsed; encoded `/`, `\` and NUL are refused.
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** The canonical form of a raw origin-form path (no query), or null when it must be refused (400). */
export function canonicalPath(raw: string): string | null {
  if (raw.length === 0 || raw.charCodeAt(0) !== 47 /* / */) return null;
  // Fast path: nothing to normalise.
  if (raw.indexOf('%') < 0 && raw.indexOf('/.') < 0 && raw.indexOf('//') < 0 && raw.indexOf('\\') < 0 && raw.indexOf('/;') < 0) return raw;
  if (raw.indexOf('\\') >= 0) return null;
  let s = raw;
  if (s.indexOf('%') >= 0) {
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c !== '%') { out += c; continue; }
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      const code = parseInt(hex, 16);
      if (code === 0x2f || code === 0x5c || code === 0) return null;
      const ch = String.fromCharCode(code);
      out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
      i += 2;
    }
    s = out;
  }
  const segments = s.split('/');
  const stack: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    // Path parameters (`/..;/admin`, `/;x/admin`, `%3B` too): servers that strip them would see a
    // different path than the router did, so a segment that is empty or a dot-segment before its
    // `;` is refused.
    if (seg.indexOf(';') >= 0 || seg.indexOf('%3B') >= 0) {
      const base = seg.replace(/%3B/g, ';').split(';')[0]!;
      if (base === '' || base === '.' || base === '..') return null;
    }
    if (seg === '..') { stack.pop(); continue; }
    if (seg === '.') continue;
    if (seg === '' && i < segments.length - 1) continue;
    stack.push(seg);
  }
  const last = segments[segments.length - 1];
  let path = '/' + stack.join('/');
  if ((last === '..' || last === '.') && !path.endsWith('/')) path += '/';
  return path;
}

/** Splits a request target into path and query (without `?`); fragments are dropped. */
export function splitTarget(url: string): { path: string; query: string } {
  const hash = url.indexOf('#');
  const u = hash >= 0 ? url.slice(0, hash) : url;
  const q = u.indexOf('?');
  return q < 0 ? { path: u, query: '' } : { path: u.slice(0, q), query: u.slice(q + 1) };
}

/** Validates a Host header value (RFC 3986 reg-name / IP literal, optional port, ≤ 255 bytes). */
export function validHostHeader(h: string): boolean {
  if (h.length === 0 || h.length > 255) return false;
  let i = 0;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf(']');
    if (end < 0) return false;
    for (let j = 1; j < end; j++) {
      const c = h.charCodeAt(j);
      if (!((c >= 48 && c <= 58) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 46)) return false;
    }
    i = end + 1;
  } else {
    for (; i < h.length; i++) {
      const c = h.charCodeAt(i);
      if (c === 58 /* : */) break;
      const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95;
      if (!ok) return false;
    }
  }
  if (i === h.length) return true;
  if (h.charCodeAt(i) !== 58) return false;
  const port = h.slice(i + 1);
  if (port.length === 0) return true;
  if (port.length > 5) return false;
  for (let j = 0; j < port.length; j++) { const c = port.charCodeAt(j); if (c < 48 || c > 57) return false; }
  return Number(port) <= 65535;
}
