import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp, linearFallback } from '../../src/lib/go-regexp.ts';

describe('Go regexp: matching as Go does', () => {
  const cases: { desc: string; re: string; input: string; want: boolean; opts?: { ignoreCase?: boolean } }[] = [
    { desc: 'unanchored like MatchString', re: 'b', input: 'abc', want: true },
    { desc: 'anchors', re: '^abc$', input: 'abc', want: true },
    { desc: 'leading (?i)', re: '(?i)^ABC$', input: 'abc', want: true },
    { desc: 'leading (?i) with a class', re: '(?i)^[a-c]+$', input: 'AbC', want: true },
    { desc: 'leading (?i) keeps escapes', re: '(?i)^\\d+$', input: '123', want: true },
    { desc: 'leading (?i) with negated class', re: '(?i)^[^a-c]$', input: 'B', want: false },
    { desc: '(?i) folds a range that crosses the cases ([A-z])', re: '(?i)^[A-z]+$', input: 'aZ_', want: true },
    { desc: '(?i) folds K to the Kelvin sign, as Go', re: '(?i)^k$', input: '\u212a', want: true },
    { desc: '(?i) folds s to the long s, as Go', re: '(?i)^s$', input: '\u017f', want: true },
    { desc: '(?i) folds non-ASCII letters', re: '(?i)^é$', input: 'É', want: true },
    { desc: 'ignoreCase option', re: '^x-auth-', input: 'X-Auth-User', want: true, opts: { ignoreCase: true } },
    { desc: 'mid-pattern (?i) scoped to the rest of its group', re: '^a(?i)b$', input: 'aB', want: true },
    { desc: 'mid-pattern (?i) does not reach back', re: '^a(?i)b$', input: 'AB', want: false },
    { desc: 'mid-pattern (?i) holds across | in its group', re: '^(?:x(?i)y|z)$', input: 'Z', want: true },
    { desc: 'mid-pattern (?i) ends with its group', re: '^(?:(?i)a)b$', input: 'Ab', want: true },
    { desc: 'mid-pattern (?i) ends with its group (miss)', re: '^(?:(?i)a)b$', input: 'AB', want: false },
    { desc: '(?-i) clears the flag', re: '(?i)^a(?-i)b$', input: 'Ab', want: true },
    { desc: '(?-i) clears the flag (miss)', re: '(?i)^a(?-i)b$', input: 'AB', want: false },
    { desc: 'inline group flag (?i:…)', re: '^(?i:ab)c$', input: 'ABc', want: true },
    { desc: '(?s) dot matches newline', re: '(?s)^a.b$', input: 'a\nb', want: true },
    { desc: 'dot does not match newline by default', re: '^a.b$', input: 'a\nb', want: false },
    { desc: "dot matches \\r (JavaScript's does not)", re: '^a.b$', input: 'a\rb', want: true },
    { desc: "dot matches U+2028 (JavaScript's does not)", re: '^a.b$', input: 'a\u2028b', want: true },
    { desc: '(?m) ^ after a newline', re: '(?m)^b', input: 'a\nb', want: true },
    { desc: '(?m) $ before a newline', re: '(?m)a$', input: 'a\nb', want: true },
    { desc: '^ without (?m) is the start of text only', re: '^b', input: 'a\nb', want: false },
    { desc: '$ without (?m) is the end of text only', re: 'a$', input: 'a\n', want: false },
    { desc: '\\s has no \\v in Go', re: '^\\s$', input: '\v', want: false },
    { desc: '\\s has no Unicode spaces in Go', re: '^\\s$', input: '\u00a0', want: false },
    { desc: '\\s is tab, newline, form feed, return, space', re: '^\\s{5}$', input: '\t\n\f\r ', want: true },
    { desc: '\\S is the complement', re: '^\\S$', input: '\v', want: true },
    { desc: '\\d is ASCII', re: '^\\d$', input: '٣', want: false },
    { desc: '\\w is ASCII', re: '^\\w+$', input: 'a_Z9', want: true },
    { desc: 'named group (?P<n>)', re: '^(?P<sub>[a-z]+)\\.example\\.com$', input: 'www.example.com', want: true },
    { desc: 'named group (?<n>) (Go 1.22)', re: '^(?<sub>[a-z]+)$', input: 'www', want: true },
    { desc: '\\A and \\z', re: '\\Afoo\\z', input: 'foo', want: true },
    { desc: '\\z is the very end', re: 'foo\\z', input: 'foo\n', want: false },
    { desc: '\\A stays the start of text under (?m)', re: '(?m)\\Ab', input: 'a\nb', want: false },
    { desc: 'POSIX class', re: '^[[:alpha:]]+[[:digit:]]$', input: 'abc1', want: true },
    { desc: 'negated POSIX class', re: '^[[:^digit:]]+$', input: 'abc', want: true },
    { desc: 'negated POSIX class (miss)', re: '^[[:^digit:]]+$', input: 'a1', want: false },
    { desc: 'leading ] in a class is literal', re: '^[]a]+$', input: ']a', want: true },
    { desc: '[ inside a class is literal', re: '^[[a]+$', input: '[a', want: true },
    { desc: '\\Q…\\E quotes', re: '^\\Qa.b*\\E$', input: 'a.b*', want: true },
    { desc: '\\Q…\\E quotes (miss)', re: '^\\Qa.b\\E$', input: 'axb', want: false },
    { desc: '\\Q without \\E quotes to the end', re: '^\\Q(a', input: '(a', want: true },
    { desc: '\\x{…}', re: '^\\x{263a}$', input: '☺', want: true },
    { desc: '\\xHH', re: '^\\x41$', input: 'A', want: true },
    { desc: 'octal \\101', re: '^\\101$', input: 'A', want: true },
    { desc: 'octal \\0', re: '^a\\0$', input: 'a\0', want: true },
    { desc: 'escaped punctuation', re: '^\\.\\/\\-$', input: './-', want: true },
    {
      desc: 'a { that is not a repetition is literal (v2 template)',
      re: '^{domain:[a-z]+}$',
      input: '{domain:abc}',
      want: true,
    },
    {
      desc: 'v2 template never matches the plain host',
      re: '{domain:[a-zA-Z-]+\\.com}',
      input: 'example.com',
      want: false,
    },
    { desc: 'repetition up to 1000', re: '^a{2,1000}$', input: 'aaa', want: true },
    { desc: 'literal }', re: '^a}$', input: 'a}', want: true },
    { desc: 'literal ]', re: '^a]$', input: 'a]', want: true },
    { desc: 'escape in a class', re: '^[\\]\\-x]+$', input: ']-x', want: true },
    { desc: 'Perl class in a class', re: '^[\\d.]+$', input: '1.2', want: true },
    { desc: 'Perl class in a negated class', re: '^[^\\s]+$', input: 'a b', want: false },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = compileGoRegexp(c.re, c.opts);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.re.test(c.input), c.want);
    });
  }
});

describe('Go regexp: refused as Go refuses it', () => {
  const cases = [
    { desc: 'lookahead', re: 'a(?=b)', error: /lookarounds are not supported/ },
    { desc: 'negative lookbehind', re: '(?<!a)b', error: /lookarounds are not supported/ },
    { desc: 'back-reference', re: '(a)\\1', error: /back-references/ },
    { desc: 'back-reference \\8', re: '(a)\\8', error: /back-references/ },
    { desc: 'named back-reference', re: '(?<n>a)\\k<n>', error: /invalid escape sequence/ },
    { desc: 'ungreedy flag', re: '(?U)a+', error: /\(\?U\)/ },
    { desc: 'unknown POSIX class', re: '[[:nope:]]', error: /invalid character class range/ },
    {
      desc: 'POSIX class named like an Object property',
      re: '[[:constructor:]]',
      error: /invalid character class range/,
    },
    { desc: 'unclosed class', re: '[abc', error: /missing closing \]/ },
    { desc: 'unclosed group', re: '(abc', error: /missing closing \)/ },
    { desc: 'unexpected )', re: 'abc)', error: /unexpected \)/ },
    { desc: 'trailing backslash', re: 'abc\\', error: /trailing backslash/ },
    { desc: 'JavaScript \\u escape', re: '\\u0041', error: /invalid escape sequence/ },
    { desc: 'JavaScript \\c escape', re: '\\cA', error: /invalid escape sequence/ },
    { desc: '\\Z', re: 'a\\Z', error: /invalid escape sequence/ },
    { desc: 'Unicode class', re: '\\pL', error: /Unicode classes/ },
    { desc: 'repeat count over 1000', re: 'a{1001}', error: /invalid repeat count/ },
    { desc: 'repeat range over 1000', re: 'a{1,1001}', error: /invalid repeat count/ },
    { desc: 'repeat range out of order', re: 'a{3,2}', error: /invalid repeat count/ },
    { desc: 'reversed class range', re: '[z-a]', error: /invalid character class range/ },
    { desc: 'class range ending in a Perl class', re: '[a-\\d]', error: /invalid character class range/ },
    { desc: 'bad \\x', re: '\\xZZ', error: /invalid escape sequence/ },
    { desc: 'bad \\x{}', re: '\\x{110000}', error: /invalid escape sequence/ },
    { desc: 'empty flags', re: '(?)', error: /invalid or unsupported Perl syntax/ },
    { desc: 'comment group', re: '(?#x)', error: /invalid or unsupported Perl syntax/ },
    { desc: 'nothing to repeat', re: '*a', error: /Nothing to repeat/ },
    { desc: 'nested repetition', re: 'a**', error: /Nothing to repeat/ },
    { desc: 'named group starting with a digit', re: '(?P<1a>x)', error: /invalid named capture/ },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = compileGoRegexp(c.re);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
  test('a non-string is an error, not an exception', () => {
    assert.equal(compileGoRegexp(42 as unknown as string).ok, false);
  });
});

describe('Go regexp: catastrophic patterns are bounded', () => {
  const cases = [
    { desc: 'nested quantifier', re: '^(a+)+$', input: 'a'.repeat(5000) + 'b' },
    { desc: 'nested quantifier, case-insensitive', re: '(?i)^(a+)+$', input: 'A'.repeat(5000) + 'b' },
    { desc: 'overlapping alternation', re: '^(a|aa)+$', input: 'a'.repeat(5000) + 'b' },
    { desc: 'nested quantifier over a class', re: '^([a-z]+)+$', input: 'a'.repeat(5000) + '!' },
    { desc: 'nested quantifier over dot', re: '^(.+)+x$', input: 'a'.repeat(5000) },
  ];
  for (const c of cases) {
    test(c.desc, (t) => {
      const r = compileGoRegexp(c.re);
      assert.ok(r.ok, r.ok ? '' : r.error);
      if (!linearFallback) return t.skip('this V8 has no linear-time regexp engine');
      assert.equal(r.bounded, true);
      assert.equal(r.re.test(c.input), false); // would not return within a lifetime on a pure backtracker
    });
  }
  test('ordinary patterns keep the fast engine (no l flag)', () => {
    const r = compileGoRegexp('^[a-z]+\\.example\\.com$');
    assert.ok(r.ok);
    assert.equal(r.re.flags.includes('l'), false);
  });
  test('global option adds the g flag and stays bounded', () => {
    const r = compileGoRegexp('(a+)+b', { global: true });
    assert.ok(r.ok);
    assert.equal(r.re.flags, 'g');
    if (linearFallback) assert.equal(r.bounded, true);
  });
});
