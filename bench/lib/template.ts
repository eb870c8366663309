import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PEERS_DIR = join(import.meta.dirname, '..', 'peers');

/**
 * Fills `{{NAME}}` placeholders of a template from bench/peers/. An unknown placeholder is an
 * error, so a typo in a template cannot silently produce a peer config that measures something else.
 */
export function renderTemplate(file: string, vars: Readonly<Record<string, string | number>>): string {
  const text = readFileSync(join(PEERS_DIR, file), 'utf8');
  return text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`template ${file}: no value for {{${name}}}`);
    return String(v);
  });
}
