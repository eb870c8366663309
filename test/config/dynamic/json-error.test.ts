import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { locateJsonError } from '../../../src/config/dynamic/json-error.ts';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('locateJsonError', () => {
  const cases: { desc: string; text: string; at: number }[] = [
    { desc: 'valid object', text: '{"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"]}', at: -1 },
    { desc: 'valid scalar with whitespace', text: ' \n 42 \t', at: -1 },
    { desc: 'truncated object', text: '{"a": 1', at: 7 },
    { desc: 'missing value', text: '{"a":}', at: 5 },
    { desc: 'trailing comma in a list', text: '[1,]', at: 3 },
    { desc: 'single quotes', text: "{'a': 1}", at: 1 },
    { desc: 'bad escape', text: '"\\x"', at: 2 },
    { desc: 'raw control character in a string', text: '"a\u0001"', at: 2 },
    { desc: 'leading zero', text: '01', at: 1 },
    { desc: 'garbage after the value', text: '{} {}', at: 3 },
    { desc: 'empty text', text: '', at: 0 },
  ];
  for (const c of cases) {
    test(c.desc, () => assert.equal(locateJsonError(c.text), c.at));
  }

  test('agrees with JSON.parse on serialised values', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => locateJsonError(JSON.stringify(v, null, 1)) === -1));
  });

  test('agrees with JSON.parse on arbitrary and mutated text', () => {
    const mutated = fc.tuple(fc.jsonValue(), fc.nat(), fc.string({ maxLength: 3 })).map(([v, at, ins]) => {
      const s = JSON.stringify(v);
      const i = at % (s.length + 1);
      return s.slice(0, i) + ins + s.slice(i + 1);
    });
    fc.assert(
      fc.property(fc.oneof(fc.string(), mutated), (text) => (locateJsonError(text) === -1) === parses(text)),
      { numRuns: 2000 },
    );
  });
});
