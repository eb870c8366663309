/**
 * Go's `Regexp.ReplaceAllString`, which Traefik's redirectRegex and replacePathRegex call: its
 * template syntax (`$1`, `${1}`, `$name`, `${name}`, `$$`) and its walk over the matches. Both differ
 * from JavaScript's `String.prototype.replace`: `$1x` is the group named `1x` (empty), not group 1
 * then `x`; `$&` and `` $` `` are literal text; an empty match right after a match is not replaced.
 */

type Part = string | number | { readonly name: string };

/** A replacement template, parsed once. */
export interface GoTemplate {
  readonly parts: readonly Part[];
}

/** Parses a Go replacement template (`Regexp.Expand` syntax). Never throws: malformed `$` is literal. */
export function parseGoTemplate(template: string): GoTemplate {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar === -1) {
      text += template.slice(i);
      break;
    }
    text += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      text += '$';
      i++;
      continue;
    }
    let name: string;
    if (template[i] === '{') {
      const close = template.indexOf('}', i + 1);
      name = close === -1 ? '' : template.slice(i + 1, close);
      if (!/^\w+$/.test(name)) {
        text += '$';
        continue;
      }
      i = close + 1;
    } else {
      name = /^\w*/.exec(template.slice(i))?.[0] ?? '';
      if (name === '') {
        text += '$';
        continue;
      }
      i += name.length;
    }
    if (text !== '') {
      parts.push(text);
      text = '';
    }
    // Go: an all-digit name is a group number, unless it has a leading zero or is absurdly long.
    const numeric = /^\d+$/.test(name) && !(name.length > 1 && name[0] === '0') && name.length <= 8;
    parts.push(numeric ? Number(name) : { name });
  }
  if (text !== '') parts.push(text);
  return { parts };
}

/** The template with the groups of one match filled in; missing or unmatched groups are empty. */
export function expandGoTemplate(tpl: GoTemplate, m: RegExpExecArray): string {
  let out = '';
  for (const p of tpl.parts) {
    if (typeof p === 'string') out += p;
    else if (typeof p === 'number') out += m[p] ?? '';
    else out += m.groups?.[p.name] ?? '';
  }
  return out;
}

/**
 * Replaces every match of `re` in `input` as Go's `ReplaceAllString` does. `re` is used through a
 * global copy made once per regexp, so the caller's own `lastIndex` is never touched.
 */
export function goReplaceAll(re: RegExp, input: string, tpl: GoTemplate): string {
  const g = globalCopy(re);
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= input.length) {
    g.lastIndex = searchPos;
    const m = g.exec(input);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    out += input.slice(lastMatchEnd, start);
    // Not for an empty match right after the previous one (Go: no double replacement).
    if (end > lastMatchEnd || start === 0) out += expandGoTemplate(tpl, m);
    lastMatchEnd = end;
    // Always advance, at least by one character.
    if (end > searchPos) searchPos = end;
    else searchPos += (input.codePointAt(searchPos) ?? 0) > 0xffff ? 2 : 1;
  }
  return out + input.slice(lastMatchEnd);
}

const globals = new WeakMap<RegExp, RegExp>();

function globalCopy(re: RegExp): RegExp {
  let g = globals.get(re);
  if (g === undefined) {
    g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
    globals.set(re, g);
  }
  return g;
}
