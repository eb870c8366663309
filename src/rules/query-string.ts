/** Query parameters by name, each with all its values in order. */
export type QueryValues = ReadonlyMap<string, readonly string[]>;

let lastRaw: string | undefined;
let lastParsed: QueryValues = new Map();

/**
 * Parses a raw query string (no leading `?`) as Go's `url.ParseQuery` does, which is what Traefik's
 * Query and QueryRegexp matchers see: pairs split on `&`, a pair containing `;` is dropped, `+` is a
 * space, `%XX` is decoded, a pair with an invalid escape is dropped, `key` alone has the value ''.
 * The last result is remembered, so several Query matchers on one request parse it once.
 */
export function parseQuery(raw: string): QueryValues {
  if (raw === lastRaw) return lastParsed;
  const out = new Map<string, string[]>();
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf('&', start);
    if (end === -1) end = raw.length;
    const pair = raw.slice(start, end);
    start = end + 1;
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = unescapeQuery(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : unescapeQuery(pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  lastRaw = raw;
  lastParsed = out;
  return out;
}

/** Go's `QueryUnescape`; undefined where Go returns an error. */
export function unescapeQuery(s: string): string | undefined {
  if (!s.includes('%') && !s.includes('+')) return s;
  const plus = s.replaceAll('+', ' ');
  if (!plus.includes('%')) return plus;
  if (/%(?![0-9a-fA-F]{2})/.test(plus)) return undefined;
  try {
    return decodeURIComponent(plus);
  } catch {
    // Go accepts escapes that are not valid UTF-8; decode byte by byte as latin1-transparent.
    return plus.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}
