/**
 * Normalises a Host header / `:authority` / SNI value to the one form every host comparison in
 * berth uses: lower case, no port, no IPv6 brackets, no trailing dot.
 *
 * `Example.COM:8080` → `example.com`, `[::1]:443` → `::1`, `example.com.` → `example.com`.
 * A bare IPv6 address without brackets (`::1`) is kept as is: its colons are not a port.
 *
 * Called once per request, so it scans the string once and allocates only when it must change it.
 */
export function normalizeHost(raw: string): string {
  let end = raw.length;
  let start = 0;
  let upper = false;
  if (end === 0) return raw;
  if (raw.charCodeAt(0) === 0x5b /* [ */) {
    const close = raw.indexOf(']');
    if (close > 0) {
      start = 1;
      end = close;
    }
  } else {
    let colon = -1;
    for (let i = 0; i < end; i++) {
      const c = raw.charCodeAt(i);
      if (c === 0x3a /* : */) {
        if (colon !== -1) {
          colon = -2;
          break;
        } // two colons: a bare IPv6 address, no port
        colon = i;
      } else if (c >= 0x41 && c <= 0x5a) {
        upper = true;
      }
    }
    if (colon >= 0) end = colon;
    else if (colon === -2) upper = hasUpper(raw, 0, end);
  }
  if (start !== 0) upper = hasUpper(raw, start, end);
  if (end > start && raw.charCodeAt(end - 1) === 0x2e /* . */) end--;
  const host = start === 0 && end === raw.length ? raw : raw.slice(start, end);
  return upper ? host.toLowerCase() : host;
}

function hasUpper(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}
