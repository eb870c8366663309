import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseDocument, stringify } from 'yaml';
import { parseYamlFast } from '../../../src/config/dynamic/fast-yaml.ts';
import { parseDocumentText } from '../../../src/config/dynamic/parse-text.ts';

/** What the `yaml` library makes of `text` with the options berth reads configuration files with. */
function library(text: string): unknown {
  const doc = parseDocument(text, { merge: true, uniqueKeys: false });
  return doc.errors.length > 0 ? { errors: true } : doc.toJS();
}

/** The fast reader either declines or agrees with the library. */
function agrees(text: string): boolean {
  const fast = parseYamlFast(text);
  if (fast === undefined) return false;
  assert.deepEqual(fast.value, library(text), `for ${JSON.stringify(text)}`);
  return true;
}

const tricky = fc.constantFrom(
  '',
  ' ',
  'a b',
  'true',
  'False',
  'NULL',
  '~',
  '0o17',
  '0x1F',
  '-12',
  '+3',
  '007',
  '1.5',
  '.5',
  '1e3',
  '-.inf',
  '.NaN',
  '10s',
  'a: b',
  'a:b',
  'x #y',
  'x#y',
  '# c',
  "it's",
  'say "hi"',
  '- a',
  '-a',
  '[a]',
  '{a}',
  '&a',
  '*a',
  '!t',
  '|',
  '>',
  '@x',
  '`x`',
  'Host(`a.test`) && PathPrefix(`/x`)',
  'http://127.0.0.1:8080/',
  'é ü 日本',
  '\\',
  'a\nb',
  ' lead',
  'trail ',
  '<<',
  '__proto__',
);
const key = fc.oneof(fc.constantFrom('a', 'rule', 'h1', 'x.y', 'web-secure', 'k_2', '1', 'true', 'a b', ''), tricky);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    tricky,
    fc.string({ maxLength: 8 }),
    fc.integer(),
    fc.double({ noNaN: false }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
}));

describe('parseYamlFast', () => {
  test('agrees with the yaml library on whatever yaml.stringify writes, or declines', () => {
    let taken = 0;
    fc.assert(
      fc.property(fc.dictionary(key, value.v, { minKeys: 1, maxKeys: 5 }), fc.boolean(), (doc, indentSeq) => {
        if (agrees(stringify(doc, { indentSeq }))) taken++;
      }),
      { numRuns: 2000 },
    );
    assert.ok(taken > 500, `the fast path took only ${taken} of 2000 documents`);
  });

  test('agrees with the yaml library on hand-written lines, or declines', () => {
    const line = fc.oneof(
      fc.constantFrom('a:', 'a: 1', '- x', '-', '  b: 2', '  - y', '    c: "q"', "- 'it''s'", '# note', '', 'a: x # c'),
      fc
        .tuple(fc.constantFrom('', '  ', '    ', '- ', '  - '), key, fc.constantFrom(': ', ':', ': # c '), tricky)
        .map(([ind, k, sep, v]) => `${ind}${k}${sep}${v}`),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), (ls) => {
        agrees(ls.join('\n'));
      }),
      { numRuns: 5000 },
    );
  });

  test("agrees on every YAML file of the repository's fixtures and examples it takes", () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(name)) files.push(p);
      }
    };
    for (const d of ['test/fixtures', 'docker']) {
      try {
        walk(join(import.meta.dirname, '../../..', d));
      } catch {
        /* a directory the checkout does not have */
      }
    }
    for (const f of files) agrees(readFileSync(f, 'utf8'));
  });

  test('reads a generated 10,000-router file', () => {
    const routers: Record<string, unknown> = {};
    for (let i = 0; i < 10_000; i++) routers[`h${i}`] = { rule: `Host(\`h${i}.test\`)`, service: 'up' };
    const doc = { http: { routers, services: { up: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } } } };
    assert.deepEqual(parseYamlFast(stringify(doc))?.value, doc);
  });

  test('declines aliases, non-string keys and what js-yaml rejects, so the library reads or reports it', () => {
    for (const text of [
      'a: &x 1\nb: *x',
      'a: 1\na: 2',
      'a:\n  b: 1\n   c: 2',
      'a: b: c',
      'a: "x\ny"',
      '~: 1',
      ': 1',
      '1: x',
      'true: x',
    ])
      assert.equal(parseYamlFast(text), undefined, text);
  });

  test('takes flow collections, block and multi-line scalars, tags, merge keys and markers, as the library reads them', () => {
    for (const text of [
      'a: [1, 2]',
      'a: {b: c}',
      'a: |\n  x\n  y',
      'a: >\n  x\n  y',
      'a:\tb',
      'a: x\n  y',
      '---\na: 1',
      'a: !!str 1',
      '<<: {b: 1}\nc: 2',
      'a: 0x1F\nb: 0o17\nc: .inf\nd: 1_000\ne: 0b11\nf: 007',
    ])
      assert.ok(agrees(text), text);
    const dup = parseDocumentText('a: 1\na: 2', 'yaml');
    assert.equal(dup.ok, false);
    assert.match(dup.ok ? '' : dup.error, /line 2, column 1: Map keys must be unique/);
  });
});
