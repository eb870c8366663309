/**
 * Finds where JSON text stops being valid, so that syntax errors can name a line and column even when
 * V8's message does not (`Unexpected end of JSON input`). Iterative, so hostile nesting cannot
 * overflow the stack.
 */

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

type Expect = 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'after';

/** Offset of the first invalid character (the text length for a truncated document), or -1 if valid. */
export function locateJsonError(text: string): number {
  const n = text.length;
  const stack: string[] = [];
  let i = 0;
  let expect: Expect = 'value';
  const skipWs = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };
  /** Moves past a string starting at `i`; returns false (with `i` at the fault) when invalid. */
  const scanString = (): boolean => {
    i++;
    while (i < n) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return true;
      }
      if (c.charCodeAt(0) < 0x20) return false;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) {
          i++;
          return false;
        }
        i += 2;
        continue;
      }
      i++;
    }
    return false;
  };

  for (;;) {
    skipWs();
    if (expect === 'after' && stack.length === 0) return i < n ? i : -1;
    if (i >= n) return n;
    const c = text[i]!;
    switch (expect) {
      case 'value':
      case 'valueOrClose':
        if (expect === 'valueOrClose' && c === ']') {
          stack.pop();
          i++;
          expect = 'after';
        } else if (c === '{') {
          stack.push('}');
          i++;
          expect = 'keyOrClose';
        } else if (c === '[') {
          stack.push(']');
          i++;
          expect = 'valueOrClose';
        } else if (c === '"') {
          if (!scanString()) return i;
          expect = 'after';
        } else {
          NUMBER.lastIndex = i;
          const m = NUMBER.exec(text);
          const lit = ['true', 'false', 'null'].find((l) => text.startsWith(l, i));
          if (m) i += m[0].length;
          else if (lit) i += lit.length;
          else return i;
          expect = 'after';
        }
        break;
      case 'key':
      case 'keyOrClose':
        if (expect === 'keyOrClose' && c === '}') {
          stack.pop();
          i++;
          expect = 'after';
          break;
        }
        if (c !== '"' || !scanString()) return i;
        skipWs();
        if (text[i] !== ':') return i;
        i++;
        expect = 'value';
        break;
      case 'after': {
        const close = stack[stack.length - 1];
        if (c === ',') {
          i++;
          expect = close === '}' ? 'key' : 'value';
        } else if (c === close) {
          stack.pop();
          i++;
        } else return i;
        break;
      }
    }
  }
}
