import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { keyPaths } from '../../src/config/schema/keys.ts';
import type { Schema } from '../../src/config/schema/kit.ts';
import { dynamicConfigSchema } from '../../src/config/dynamic/schema.ts';
import { staticConfigSchema } from '../../src/config/static/schema.ts';
import { WARNED_DYNAMIC, WARNED_STATIC, type Warned } from '../../src/config/warned.ts';
import { COVERED_DYNAMIC, COVERED_STATIC, REFUSED_DYNAMIC } from './covered-keys.ts';

const texts = new Map<string, string>();
function mentions(file: string, key: string): boolean {
  let text = texts.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8').toLowerCase();
    texts.set(file, text);
  }
  return new RegExp(`(?<![a-z0-9])${key.toLowerCase()}(?![a-z0-9])`).test(text);
}

/** The longest prefix of `path` with an entry in `table`. */
function longest<T>(table: Readonly<Record<string, T>>, path: string): T | undefined {
  const parts = path.split('.');
  for (let i = parts.length; i > 0; i--) {
    const hit = table[parts.slice(0, i).join('.')];
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/**
 * True when the key or one of its parents is warned: as a whole, or for the values that do not do
 * what they say (the others take effect as written).
 */
function warned(table: Readonly<Record<string, Warned>>, path: string): boolean {
  const parts = path.split('.');
  return parts.some((_, i) => table[parts.slice(0, i + 1).join('.')] !== undefined);
}

/** True when the key belongs to a part whose use is refused, and the refusal's test names that part. */
function refused(table: Readonly<Record<string, string>>, path: string): boolean {
  const parts = path.split('.');
  return parts.some((_, i) => {
    const prefix = parts.slice(0, i + 1).join('.');
    const file = table[prefix];
    return file !== undefined && mentions(file, parts[i]!);
  });
}

const SCHEMAS: {
  name: string;
  schema: Schema;
  warnedTable: Readonly<Record<string, Warned>>;
  covered: Readonly<Record<string, readonly string[]>>;
  refusedTable: Readonly<Record<string, string>>;
}[] = [
  { name: 'static', schema: staticConfigSchema, warnedTable: WARNED_STATIC, covered: COVERED_STATIC, refusedTable: {} },
  {
    name: 'dynamic',
    schema: dynamicConfigSchema,
    warnedTable: WARNED_DYNAMIC,
    covered: COVERED_DYNAMIC,
    refusedTable: REFUSED_DYNAMIC,
  },
];

describe('every key of the configuration takes effect or is warned', () => {
  for (const { name, schema, warnedTable, covered, refusedTable } of SCHEMAS) {
    const keys = keyPaths(schema);
    const paths = new Set(keys.map((k) => k.path));

    test(`${name}: each key is warned, or mentioned by a test of its part of the configuration`, () => {
      const uncovered: string[] = [];
      for (const k of keys) {
        if (!k.leaf || warned(warnedTable, k.path) || refused(refusedTable, k.path)) continue;
        const files = longest(covered, k.path) ?? [];
        const leaf = k.path.slice(k.path.lastIndexOf('.') + 1);
        if (!files.some((f) => mentions(f, leaf)))
          uncovered.push(`${k.path} (looked in: ${files.join(', ') || 'no test listed'})`);
      }
      assert.deepEqual(uncovered, [], 'keys with neither a behaviour test nor a line in src/config/warned.ts');
    });

    test(`${name}: every warned key exists (a stale line would hide nothing)`, () => {
      assert.deepEqual(
        Object.keys(warnedTable).filter((p) => !paths.has(p)),
        [],
      );
    });

    test(`${name}: every listed test file exists`, () => {
      for (const files of Object.values(covered))
        for (const f of files) assert.ok(readFileSync(new URL(`../${f}`, import.meta.url), 'utf8').length > 0, f);
    });
  }
});
