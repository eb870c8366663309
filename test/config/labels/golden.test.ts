/**
 * Table-driven golden tests: each fixture directory is one case. `UPDATE_GOLDEN=1` rewrites the
 * expected files instead of comparing (review the diff by hand before committing).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeContainers } from '../../../src/config/labels/decode.ts';
import type { ContainerView, LabelDecodeOptions } from '../../../src/config/labels/types.ts';
import { loadCases } from './fixtures.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';

/** What a fixture shows: the configuration served and the diagnostics (claims are the provider's business). */
function decoded(containers: readonly ContainerView[], opts: LabelDecodeOptions): unknown {
  const { config, diagnostics, repositories } = decodeContainers(containers, opts);
  return JSON.parse(JSON.stringify({ config, diagnostics, repositories })) as unknown;
}

function compare(dir: string, actual: unknown, pick?: (all: Record<string, unknown>) => unknown): void {
  const file = join(dir, 'expected.json');
  if (pick !== undefined && !update && !existsSync(file))
    assert.fail(`${file} is missing: run with UPDATE_GOLDEN=1 and review it`);
  if (update || !existsSync(file)) {
    writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
    if (!update) assert.fail(`wrote missing ${file}; review it and run again`);
    return;
  }
  const all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(pick === undefined ? all : pick(all), actual);
}

describe('label decoder golden fixtures', () => {
  for (const c of loadCases()) {
    if (c.table === undefined) {
      test(`${c.name}: ${c.desc}`, () => compare(c.dir, decoded(c.containers, c.opts)));
      continue;
    }
    const rows = c.table;
    describe(`${c.name}: ${c.desc}`, () => {
      if (update) {
        test('update', () =>
          compare(c.dir, Object.fromEntries(rows.map((row) => [row.desc, decoded(row.containers, row.opts)]))));
        return;
      }
      for (const row of rows)
        test(row.desc, () => compare(c.dir, decoded(row.containers, row.opts), (all) => all[row.desc]));
    });
  }
});
