import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocumentText } from '../../../src/config/dynamic/parse-text.ts';

describe('parseDocumentText: YAML keys must be unique within a mapping', () => {
  const cases: { desc: string; text: string; error?: string }[] = [
    {
      desc: 'top-level duplicate',
      text: 'http: {}\nhttp: {}\n',
      error: 'YAML syntax error at line 2, column 1: Map keys must be unique',
    },
    {
      desc: 'nested block duplicate',
      text: 'http:\n  routers:\n    a: {rule: x}\n    b: {rule: y}\n    a: {rule: z}\n',
      error: 'YAML syntax error at line 5, column 5: Map keys must be unique',
    },
    {
      desc: 'flow mapping duplicate',
      text: 'http: {routers: {a: 1, a: 2}}\n',
      error: 'YAML syntax error at line 1, column 24: Map keys must be unique',
    },
    {
      desc: 'duplicate quoted the other way',
      text: 'a: 1\n"a": 2\n',
      error: 'YAML syntax error at line 2, column 1: Map keys must be unique',
    },
    {
      desc: 'the first duplicate in the text is reported',
      text: 'x:\n  k: 1\n  k: 2\ny: 1\ny: 2\n',
      error: 'YAML syntax error at line 3, column 3: Map keys must be unique',
    },
    { desc: 'same key in different mappings', text: 'a: {k: 1}\nb: {k: 2}\n' },
    { desc: 'number and string keys differ', text: '1: a\n"1": b\n' },
    {
      desc: 'many distinct keys',
      text: Array.from({ length: 5000 }, (_, i) => `r${i}: {rule: "Host(\`h${i}\`)"}`).join('\n'),
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseDocumentText(c.text, 'yaml');
      if (c.error) assert.deepEqual(r, { ok: false, error: c.error });
      else assert.equal(r.ok, true, JSON.stringify(r));
    });
  }
});
