/**
 * Traefik v3.7 parity of keys: every key of Traefik's reference (test/fixtures/traefik-v3.7/) is
 * accepted by berth — implemented, or warned as having no effect — and never refused as unknown,
 * in each form Traefik reads it: the static file, the dynamic file, Docker labels.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeDynamicConfig } from '../../src/config/dynamic/decode.ts';
import { parseTraefikLabels } from '../../src/config/labels/parse.ts';
import { decodeStaticConfig } from '../../src/config/static/decode.ts';
import { documentFromEnv, documentFromFlags } from '../../src/config/static/sources.ts';

function keys(file: string): string[] {
  return readFileSync(new URL(`../fixtures/traefik-v3.7/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** A document holding only `path` (names replaced by `x`, list items by one item), set to `value`. */
export function documentOf(path: string, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let cur: Record<string, unknown> = root;
  const segs = path
    .replace(/<name>|_name_/g, 'x')
    .replace(/<key>/g, 'k')
    .split('.');
  segs.forEach((seg, i) => {
    const m = /^(.+)\[0\]$/.exec(seg);
    const last = i === segs.length - 1;
    if (m) {
      const item: Record<string, unknown> = {};
      cur[m[1]!] = [item];
      cur = item;
      if (last) throw new Error(`${path}: a list item needs a key`);
      return;
    }
    if (last) cur[seg] = value;
    else cur = (cur[seg] = {}) as Record<string, unknown>;
  });
  return root;
}

const UNKNOWN = /unknown (key|middleware type|section|label)/;

describe('Traefik v3.7 keys are accepted (implemented or warned), never refused as unknown', () => {
  test('static configuration file', () => {
    const refused: string[] = [];
    for (const key of keys('static-keys.txt')) {
      const r = decodeStaticConfig(documentOf(key, 'true'), 'test');
      for (const d of r.diagnostics) if (UNKNOWN.test(d.message)) refused.push(`${key}: ${d.element}: ${d.message}`);
    }
    assert.deepEqual(refused, []);
  });

  test('static configuration as Traefik CLI flags and TRAEFIK_* variables', () => {
    const refused: string[] = [];
    for (const key of keys('static-keys.txt')) {
      const named = key.replace(/_name_/g, 'x');
      const flags = documentFromFlags([`--${named}=true`]);
      const env = documentFromEnv([
        [`TRAEFIK_${named.replace(/\[0\]/g, '.0').replace(/\./g, '_').toUpperCase()}`, 'true'],
      ]);
      const decoded = [
        ...decodeStaticConfig(flags.value, 'flags').diagnostics,
        ...decodeStaticConfig(env.value, 'env').diagnostics,
      ];
      for (const d of [...flags.diagnostics, ...env.diagnostics, ...decoded])
        if (UNKNOWN.test(d.message)) refused.push(`${key}: ${d.element}: ${d.message}`);
    }
    assert.deepEqual(refused, []);
  });

  test('dynamic configuration file', () => {
    const refused: string[] = [];
    for (const key of keys('dynamic-keys.txt')) {
      const r = decodeDynamicConfig(documentOf(key, 'true'), 'test');
      for (const d of r.diagnostics) if (UNKNOWN.test(d.message)) refused.push(`${key}: ${d.element}: ${d.message}`);
    }
    assert.deepEqual(refused, []);
  });

  test('Docker labels', () => {
    const refused: string[] = [];
    for (const key of keys('docker-labels.txt')) {
      const label = key.replace(/<name>/g, 'x').replace(/<key>/g, 'k');
      const p = parseTraefikLabels({ [label]: 'true' }, 'test');
      const errors = [...p.diagnostics];
      for (const proto of ['http', 'tcp', 'udp'] as const) {
        for (const section of Object.values(p[proto])) for (const e of section.values()) errors.push(...e.errors);
      }
      for (const d of errors) if (UNKNOWN.test(d.message)) refused.push(`${key}: ${d.message}`);
    }
    assert.deepEqual(refused, []);
  });
});
