import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp, linearFallback } from '../../src/rules/go-regexp.ts';

const matching = [
  { desc: 'unanchored like MatchString', re: 'b', input: 'abc', want: true },
  { desc: 'anchors', re: '^abc$', input: 'abc', want: true },
  { desc: 'leading (?i)', re: '(?i)^ABC$', input: 'abc', want: true },
  { desc: 'leading (?i) with a class', re: '(?i)^[a-c]+$', input: 'AbC', want: true },
  { desc: 'leading (?i) keeps escapes', re: '(?i)^\\d+$', input: '123', want: true },
  { desc: 'leading (?i) with negated class', re: '(?i)^[^a-c]$', input: 'B', want: false },
  { desc: '(?s) dot matches newline', re: '(?s)^a.b$', input: 'a\nb', want: true },
  { desc: 'dot does not match newline by default', re: '^a.b$', input: 'a\nb', want: false },
  { desc: 'named group (?P<n>)', re: '^(?P<sub>[a-z]+)\\.example\\.com$', input: 'www.example.com', want: true },
  { desc: '\\A and \\z', re: '\\Afoo\\z', input: 'foo', want: true },
  { desc: '\\z is the very end', re: 'foo\\z', input: 'foo\n', want: false },
  { desc: 'POSIX class', re: '^[[:alpha:]]+[[:digit:]]$', input: 'abc1', want: true },
  { desc: 'leading ] in a class is literal', re: '^[]a]+$', input: ']a', want: true },
  { desc: 'inline group flag (?i:…)', re: '^(?i:ab)c$', input: 'ABc', want: true },
];
for (const c of matching) {
  test(`Go regexp: ${c.desc}`, () => {
    const r = compileGoRegexp(c.re);
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.equal(r.re.test(c.input), c.want);
  });
}

const refused = [
  { desc: 'lookahead', re: 'a(?=b)' },
  { desc: 'negative lookbehind', re: '(?<!a)b' },
  { desc: 'back-reference', re: '(a)\\1' },
  { desc: 'named back-reference', re: '(?<n>a)\\k<n>' },
  { desc: 'ungreedy flag', re: '(?U)a+' },
  { desc: 'unknown POSIX class', re: '[[:nope:]]' },
  { desc: 'POSIX class named like an Object property', re: '[[:constructor:]]' },
  { desc: 'unclosed class', re: '[abc' },
  { desc: 'unclosed group', re: '(abc' },
  { desc: 'trailing backslash', re: 'abc\\' },
];
for (const c of refused) {
  test(`Go regexp refused: ${c.desc}`, () => {
    const r = compileGoRegexp(c.re);
    assert.equal(r.ok, false);
  });
}

const catastrophic = [
  { desc: 'nested quantifier', re: '^(a+)+$', input: 'a'.repeat(5000) + 'b' },
  { desc: 'nested quantifier, case-insensitive', re: '(?i)^(a+)+$', input: 'A'.repeat(5000) + 'b' },
  { desc: 'overlapping alternation', re: '^(a|aa)+$', input: 'a'.repeat(5000) + 'b' },
];
for (const c of catastrophic) {
  test(`Go regexp: catastrophic pattern is bounded (${c.desc})`, (t) => {
    const r = compileGoRegexp(c.re);
    assert.ok(r.ok);
    if (!linearFallback) return t.skip('this V8 has no linear-time regexp engine');
    assert.equal(r.bounded, true);
    assert.equal(r.re.test(c.input), false); // would not return within a lifetime on a pure backtracker
  });
}

test('Go regexp: ordinary patterns keep the fast engine (no l flag)', () => {
  const r = compileGoRegexp('^[a-z]+\\.example\\.com$');
  assert.ok(r.ok);
  assert.equal(r.re.flags.includes('l'), false);
});
