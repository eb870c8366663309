import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileConstraints } from '../../../src/config/labels/constraints.ts';

const labels = { env: 'prod', team: 'web-a', 'a.b': 'x y' };

describe('compileConstraints', () => {
  const cases: { desc: string; expr: string; want?: boolean; error?: RegExp }[] = [
    { desc: 'Label match', expr: 'Label(`env`, `prod`)', want: true },
    { desc: 'Label mismatch', expr: 'Label(`env`, `dev`)', want: false },
    { desc: 'Label on a missing key', expr: 'Label(`nope`, ``)', want: false },
    { desc: 'double quotes', expr: 'Label("a.b", "x y")', want: true },
    { desc: 'LabelRegex is unanchored like Go', expr: 'LabelRegex(`team`, `web`)', want: true },
    { desc: 'LabelRegex anchored', expr: 'LabelRegex(`team`, `^db`)', want: false },
    { desc: 'negation', expr: '!Label(`env`, `dev`)', want: true },
    {
      desc: 'precedence: && binds tighter than ||',
      expr: 'Label(`env`, `dev`) && Label(`team`, `x`) || Label(`env`, `prod`)',
      want: true,
    },
    { desc: 'parentheses', expr: 'Label(`env`, `dev`) && (Label(`team`, `x`) || Label(`env`, `prod`))', want: false },
    { desc: 'empty expression keeps everything', expr: '  ', want: true },
    { desc: 'dangling operator', expr: 'Label(`env`, `prod`) &&', error: /expected/ },
    { desc: 'unknown function', expr: 'Tag(`x`, `y`)', error: /unknown function "Tag"/ },
    { desc: 'wrong arity', expr: 'Label(`env`)', error: /two arguments/ },
    { desc: 'bad regex', expr: 'LabelRegex(`env`, `(`)', error: /invalid regular expression/ },
    { desc: 'unterminated string', expr: 'Label(`env, `x`)', error: /expected|unterminated/ },
    { desc: 'missing paren', expr: '(Label(`env`, `prod`)', error: /missing "\)"/ },
    { desc: 'garbage', expr: 'Label(`a`,`b`) $', error: /unexpected character/ },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = compileConstraints(c.expr);
      if (c.error) assert.ok('error' in r && c.error.test(r.error), JSON.stringify(r));
      else assert.ok('match' in r && r.match(labels) === c.want);
    });
  }
});
