/**
 * One canonical path for routing, auth and forwarding, as Traefik v3.7 builds it (HARDENING:
 * `%2e%2e`, `..`, `//`, encoded slashes can never bypass a PathPrefix router):
 * - normalised (`normalizePath`): percent-encoded unreserved characters decoded, other escapes upper-cased;
 * - sanitised unless the entrypoint says `sanitizePath: false`: dot segments resolved and repeated
 *   slashes collapsed as Go's `URL.JoinPath` does (a trailing slash kept);
 * - routed on its decoded form (`routingPathOf`): escapes of reserved characters stay encoded;
 * - refused when it carries an encoded character the entrypoint's `encodedCharacters` does not allow
 *   (`encodedIn`, checked once a router matched, as Traefik's root routers do).
 * berth refuses more than Traefik, always: a raw `\`, a `#` in the path, and path parameters on an
 * empty or dot segment (`/..;/admin`, `/;x/admin`), which servers that strip parameters would
 * resolve differently than the router did.
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Encoded characters Traefik's `encodedCharacters` options allow one by one (bits of `encodedIn`). */
export const ENCODED = {
  slash: 1,
  backSlash: 2,
  nullCharacter: 4,
  semicolon: 8,
  percent: 16,
  questionMark: 32,
  hash: 64,
} as const;

/** The bit of an upper-case escape (`2F`), or 0. */
function encodedBit(hex: string): number {
  switch (hex) {
    case '2F':
      return ENCODED.slash;
    case '5C':
      return ENCODED.backSlash;
    case '00':
      return ENCODED.nullCharacter;
    case '3B':
      return ENCODED.semicolon;
    case '25':
      return ENCODED.percent;
    case '3F':
      return ENCODED.questionMark;
    case '23':
      return ENCODED.hash;
    default:
      return 0;
  }
}

/**
 * The escapes an entrypoint refuses, from its `encodedCharacters` (Traefik v3.6+ refuses all seven by
 * default: each is allowed only by its own option).
 */
export function deniedEncodedCharacters(
  opts:
    | Readonly<
        Partial<
          Record<
            `allowEncoded${'Slash' | 'BackSlash' | 'NullCharacter' | 'Semicolon' | 'Percent' | 'QuestionMark' | 'Hash'}`,
            boolean
          >
        >
      >
    | undefined,
): number {
  let denied = 0;
  if (opts?.allowEncodedSlash !== true) denied |= ENCODED.slash;
  if (opts?.allowEncodedBackSlash !== true) denied |= ENCODED.backSlash;
  if (opts?.allowEncodedNullCharacter !== true) denied |= ENCODED.nullCharacter;
  if (opts?.allowEncodedSemicolon !== true) denied |= ENCODED.semicolon;
  if (opts?.allowEncodedPercent !== true) denied |= ENCODED.percent;
  if (opts?.allowEncodedQuestionMark !== true) denied |= ENCODED.questionMark;
  if (opts?.allowEncodedHash !== true) denied |= ENCODED.hash;
  return denied;
}

/** The `ENCODED` bits of the escapes in a canonical path (0 when it has none). */
export function encodedIn(path: string): number {
  let bits = 0;
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 3)) bits |= encodedBit(path.slice(i + 1, i + 3));
  return bits;
}

/** The canonical form of a raw origin-form path (no query), or null when it must be refused (400). */
export function canonicalPath(raw: string, sanitize = true): string | null {
  if (raw.length === 0 || raw.charCodeAt(0) !== 47 /* / */) return null;
  // Fast path: nothing to normalise.
  if (
    raw.indexOf('%') < 0 &&
    raw.indexOf('/.') < 0 &&
    raw.indexOf('//') < 0 &&
    raw.indexOf('\\') < 0 &&
    raw.indexOf(';') < 0 &&
    raw.indexOf('#') < 0
  )
    return raw;
  if (raw.indexOf('\\') >= 0 || raw.indexOf('#') >= 0) return null;
  let s = raw;
  if (s.indexOf('%') >= 0) {
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c !== '%') {
        out += c;
        continue;
      }
      const hex = s.slice(i + 1, i + 3);
      // Go's server refuses a malformed escape before any handler runs.
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      const ch = String.fromCharCode(parseInt(hex, 16));
      out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
      i += 2;
    }
    s = out;
  }
  const segments = s.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg.indexOf(';') >= 0 || seg.indexOf('%3B') >= 0) {
      const base = seg.replace(/%3B/g, ';').split(';')[0]!;
      if (base === '' || base === '.' || base === '..') return null;
    }
  }
  return sanitize ? cleanPath(s, segments) : s;
}

/** Go's `path.Clean` of an absolute path, keeping a trailing slash as `URL.JoinPath` does. */
function cleanPath(s: string, segments: readonly string[]): string {
  const stack: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      stack.pop();
      continue;
    }
    stack.push(seg);
  }
  const path = '/' + stack.join('/');
  return s.length > 1 && s.charCodeAt(s.length - 1) === 47 && path.length > 1 ? path + '/' : path;
}

/** RFC 3986 reserved characters (and `%`): their escapes stay encoded in the path routers see. */
const RESERVED = new Set([
  '3A',
  '2F',
  '3F',
  '23',
  '5B',
  '5D',
  '40',
  '21',
  '24',
  '26',
  '27',
  '28',
  '29',
  '2A',
  '2B',
  '2C',
  '3B',
  '3D',
  '25',
]);

/**
 * The path routers match (Traefik's routing path): the canonical path with every escape decoded
 * except those of reserved characters, so `PathPrefix(`/foo bar`)` matches `/foo%20bar` while
 * `/a%2Fb` never matches `/a/b`.
 */
export function routingPathOf(path: string): string {
  if (path.indexOf('%') < 0) return path;
  return path.replace(/(?:%[0-9A-F]{2})+/g, (run) => {
    let out = '';
    let pending = '';
    const flush = (): void => {
      if (pending === '') return;
      try {
        out += decodeURIComponent(pending);
      } catch {
        out += pending;
      }
      pending = '';
    };
    for (let i = 0; i < run.length; i += 3) {
      const hex = run.slice(i + 1, i + 3);
      if (RESERVED.has(hex)) {
        flush();
        out += run.slice(i, i + 3);
      } else pending += run.slice(i, i + 3);
    }
    flush();
    return out;
  });
}

/** Splits a request target into path and query (without `?`); a fragment after the query is dropped. */
export function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  if (q < 0) return { path: url, query: '' };
  const hash = url.indexOf('#', q);
  return { path: url.slice(0, q), query: url.slice(q + 1, hash < 0 ? url.length : hash) };
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
      const ok =
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95;
      if (!ok) return false;
    }
  }
  if (i === h.length) return true;
  if (h.charCodeAt(i) !== 58) return false;
  const port = h.slice(i + 1);
  if (port.length === 0) return true;
  if (port.length > 5) return false;
  for (let j = 0; j < port.length; j++) {
    const c = port.charCodeAt(j);
    if (c < 48 || c > 57) return false;
  }
  return Number(port) <= 65535;
}
