/**
 * Table-driven golden tests: each fixture directory is one case. `UPDATE_GOLDEN=1` rewrites the
 * expected files instead of comparing (review the diff by hand before committing).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeContainers } from '../../../src/config/labels/decode.ts';
import { loadCases } from './fixtures.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';

describe('label decoder golden fixtures', () => {
  for (const c of loadCases()) {
    test(`${c.name}: ${c.desc}`, () => {
      const { config, diagnostics, repositories } = decodeContainers(c.containers, c.opts);
      // The claim outcome is the provider's business (claim-ledger tests); fixtures show what is served.
      const actual = JSON.parse(JSON.stringify({ config, diagnostics, repositories })) as unknown;
      const file = join(c.dir, 'expected.json');
      if (update || !existsSync(file)) {
        writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
        if (!update) assert.fail(`wrote missing ${file}; review it and run again`);
        return;
      }
      const expected = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      assert.deepEqual(actual, expected);
    });
  }
});
