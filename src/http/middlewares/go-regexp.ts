import { OptionError } from './options.ts';

/**
 * Traefik options carry Go (RE2) regular expressions and Go replacement templates. The common
 * subset maps to JavaScript: `(?P<name>…)` → `(?<name>…)`, leading inline flags `(?i)` / `(?s)` /
 * `(?m)` → RegExp flags; `$1`, `${1}`, `${name}` in replacements → `$1`, `$<name>`.
 */
export function compileGoRegexp(key: string, source: string): RegExp {
  let src = source.replace(/\(\?P</g, '(?<');
  let flags = '';
  const lead = /^\(\?([ims]+)\)/.exec(src);
  if (lead) {
    flags = [...new Set(lead[1]!)].join('');
    src = src.slice(lead[0].length);
  }
  try {
    return new RegExp(src, flags);
  } catch (err) {
    throw new OptionError(`${key}: invalid regular expression: ${(err as Error).message}`);
  }
}

/** Converts a Go `Regexp.ReplaceAllString` template to a JavaScript `String.replace` one. */
export function goReplacement(template: string): string {
  return template
    .replace(/\$\$/g, '\u0000')
    .replace(/\$\{(\d+)\}/g, '$$$1')
    .replace(/\$\{([A-Za-z_]\w*)\}/g, '$$<$1>')
    .replace(/\$([A-Za-z_]\w*)/g, '$$<$1>')
    .replace(/\u0000/g, '$$$$');
}
