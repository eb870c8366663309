import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp } from '../../src/lib/go-regexp.ts';
import { goReplaceAll, parseGoTemplate } from '../../src/lib/go-replace.ts';

/** Go's own table for `ReplaceAllString` (regexp/all_test.go, replaceTests). */
const goReplaceTests: { pattern: string; replacement: string; input: string; output: string }[] = [
  { pattern: '', replacement: '', input: '', output: '' },
  { pattern: '', replacement: 'x', input: '', output: 'x' },
  { pattern: '', replacement: '', input: 'abc', output: 'abc' },
  { pattern: '', replacement: 'x', input: 'abc', output: 'xaxbxcx' },
  { pattern: 'b', replacement: '', input: 'abc', output: 'ac' },
  { pattern: 'b', replacement: 'x', input: 'abc', output: 'axc' },
  { pattern: 'y', replacement: '', input: '', output: '' },
  { pattern: 'y', replacement: 'x', input: '', output: '' },
  { pattern: 'y', replacement: '', input: 'abc', output: 'abc' },
  { pattern: 'y', replacement: 'x', input: 'abc', output: 'abc' },
  { pattern: '[a-c]*', replacement: 'x', input: '\u65e5', output: 'x\u65e5x' },
  { pattern: '[^\u65e5]', replacement: 'x', input: 'abc\u65e5def', output: 'xxx\u65e5xxx' },
  { pattern: '^[a-c]*', replacement: 'x', input: 'abcdabc', output: 'xdabc' },
  { pattern: '[a-c]*$', replacement: 'x', input: 'abcdabc', output: 'abcdx' },
  { pattern: '^[a-c]*$', replacement: 'x', input: 'abcdabc', output: 'abcdabc' },
  { pattern: '^[a-c]*', replacement: 'x', input: 'abc', output: 'x' },
  { pattern: '[a-c]*$', replacement: 'x', input: 'abc', output: 'x' },
  { pattern: '^[a-c]*$', replacement: 'x', input: 'abc', output: 'x' },
  { pattern: '^[a-c]*', replacement: 'x', input: 'dabce', output: 'xdabce' },
  { pattern: '[a-c]*$', replacement: 'x', input: 'dabce', output: 'dabcex' },
  { pattern: '^[a-c]*$', replacement: 'x', input: 'dabce', output: 'dabce' },
  { pattern: '^[a-c]*', replacement: 'x', input: '', output: 'x' },
  { pattern: '[a-c]*$', replacement: 'x', input: '', output: 'x' },
  { pattern: '^[a-c]*$', replacement: 'x', input: '', output: 'x' },
  { pattern: 'abc', replacement: 'def', input: 'abcdefg', output: 'defdefg' },
  { pattern: 'bc', replacement: 'BC', input: 'abcbcdcdedef', output: 'aBCBCdcdedef' },
  { pattern: 'abc', replacement: '', input: 'abcdabc', output: 'd' },
  { pattern: 'x', replacement: 'xXx', input: 'xxxXxxx', output: 'xXxxXxxXxXxXxxXxxXx' },
  { pattern: 'abc', replacement: 'd', input: '', output: '' },
  { pattern: 'abc', replacement: 'd', input: 'abc', output: 'd' },
  { pattern: '.+', replacement: 'x', input: 'abc', output: 'x' },
  { pattern: '[a-c]*', replacement: 'x', input: 'def', output: 'xdxexfx' },
  { pattern: '[a-c]+', replacement: 'x', input: 'abcbcdcdedef', output: 'xdxdedef' },
  { pattern: '[a-c]*', replacement: 'x', input: 'abcbcdcdedef', output: 'xdxdxexdxexfx' },
  { pattern: 'a+', replacement: '($0)', input: 'banana', output: 'b(a)n(a)n(a)' },
  { pattern: 'a+', replacement: '(${0})', input: 'banana', output: 'b(a)n(a)n(a)' },
  { pattern: 'a+', replacement: '(${0})$0', input: 'banana', output: 'b(a)an(a)an(a)a' },
  { pattern: 'hello, (.+)', replacement: 'goodbye, ${1}', input: 'hello, world', output: 'goodbye, world' },
  { pattern: 'hello, (.+)', replacement: 'goodbye, $1x', input: 'hello, world', output: 'goodbye, ' },
  { pattern: 'hello, (.+)', replacement: 'goodbye, ${1}x', input: 'hello, world', output: 'goodbye, worldx' },
  {
    pattern: 'hello, (.+)',
    replacement: '<$0><$1><$2><$3>',
    input: 'hello, world',
    output: '<hello, world><world><><>',
  },
  { pattern: 'hello, (?P<noun>.+)', replacement: 'goodbye, $noun!', input: 'hello, world', output: 'goodbye, world!' },
  { pattern: 'hello, (?P<noun>.+)', replacement: 'goodbye, ${noun}', input: 'hello, world', output: 'goodbye, world' },
  { pattern: 'a+', replacement: '${oops', input: 'aaa', output: '${oops' },
  { pattern: 'a+', replacement: '$$', input: 'aaa', output: '$' },
  { pattern: 'a+', replacement: '$', input: 'aaa', output: '$' },
  { pattern: '(x)?', replacement: '$1', input: '123', output: '123' },
  { pattern: 'abc', replacement: '$1', input: '123', output: '123' },
  { pattern: '(a)(b){0}(c)', replacement: '.$1|$3.', input: 'xacxacx', output: 'x.a|c.x.a|c.x' },
  { pattern: '(a)(b){0}(c)', replacement: '.$2|$3.', input: 'xacxacx', output: 'x.|c.x.|c.x' },
  {
    pattern: '((a(b){0}){3}){5}(h)',
    replacement: 'y caramb$2',
    input: `say ${'a'.repeat(16)}h`,
    output: 'say ay caramba',
  },
  {
    pattern: '((a(b){0}){3}){5}h',
    replacement: 'y caramb$2',
    input: `say ${'a'.repeat(16)}h`,
    output: 'say ay caramba',
  },
];

describe("Go ReplaceAllString (Go's replaceTests)", () => {
  for (const c of goReplaceTests) {
    test(`${JSON.stringify(c.pattern)} / ${JSON.stringify(c.replacement)} on ${JSON.stringify(c.input)}`, () => {
      const r = compileGoRegexp(c.pattern);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(goReplaceAll(r.re, c.input, parseGoTemplate(c.replacement)), c.output);
    });
  }
});

describe("Go templates where JavaScript's replace differs", () => {
  const cases = [
    { desc: '$& is literal', pattern: 'b', replacement: '[$&]', input: 'abc', output: 'a[$&]c' },
    { desc: '$` is literal', pattern: 'b', replacement: '[$`]', input: 'abc', output: 'a[$`]c' },
    { desc: "$' is literal", pattern: 'b', replacement: "[$']", input: 'abc', output: "a[$']c" },
    { desc: '$10 is group 10, not group 1 then 0', pattern: '(a)', replacement: '$10', input: 'a', output: '' },
    { desc: '$01 is a name, not group 1', pattern: '(a)', replacement: '$01', input: 'a', output: '' },
    { desc: 'unknown name is empty', pattern: '(?P<x>a)', replacement: '<$y>', input: 'a', output: '<>' },
    {
      desc: 'redirectRegex-style URL rewrite',
      pattern: '^https?://localhost/(.*)',
      replacement: 'https://example.com/${1}',
      input: 'http://localhost/a/b',
      output: 'https://example.com/a/b',
    },
    { desc: "a caller's lastIndex is left alone", pattern: 'a', replacement: 'b', input: 'aa', output: 'bb' },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = compileGoRegexp(c.pattern);
      assert.ok(r.ok, r.ok ? '' : r.error);
      r.re.lastIndex = 7;
      assert.equal(goReplaceAll(r.re, c.input, parseGoTemplate(c.replacement)), c.output);
      assert.equal(r.re.lastIndex, 7);
    });
  }
});
