import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeName, renderRuleTemplate } from '../../../src/config/labels/template.ts';

const model = { Name: 'web-shop', ContainerName: 'Shop_Web.1', Labels: { 'app.host': 'a.example.com', sub: 'x' } };

describe('renderRuleTemplate', () => {
  const cases: { desc: string; tpl: string; want?: string; error?: RegExp }[] = [
    { desc: 'Traefik default', tpl: 'Host(`{{ normalize .Name }}`)', want: 'Host(`web-shop`)' },
    { desc: 'plain field', tpl: 'Host(`{{ .Name }}.example.com`)', want: 'Host(`web-shop.example.com`)' },
    { desc: 'container name through a pipe', tpl: '{{ .ContainerName | normalize | lower }}', want: 'shop-web-1' },
    { desc: 'index .Labels', tpl: 'Host(`{{ index .Labels "app.host" }}`)', want: 'Host(`a.example.com`)' },
    { desc: 'missing label is empty', tpl: '[{{ index .Labels "nope" }}]', want: '[]' },
    { desc: 'dotted label access', tpl: '{{ .Labels.sub }}', want: 'x' },
    {
      desc: 'dotted access to a missing label prints <no value>, as Go',
      tpl: '[{{ .Labels.nope }}]',
      want: '[<no value>]',
    },
    { desc: 'a missing label through default is empty, as sprig', tpl: '{{ .Labels.nope | default "d" }}', want: 'd' },
    {
      desc: "a missing label into a string function is Go's error",
      tpl: '{{ .Labels.nope | lower }}',
      error: /invalid value; expected string/,
    },
    { desc: 'default with a pipe', tpl: '{{ index .Labels "nope" | default "d.example.com" }}', want: 'd.example.com' },
    { desc: 'trim markers', tpl: 'a  {{- .Name -}}  b', want: 'aweb-shopb' },
    { desc: 'replace and trimSuffix', tpl: '{{ replace "-" "." .Name | trimSuffix ".shop" }}', want: 'web' },
    { desc: 'raw string literal', tpl: '{{ index .Labels `sub` }}', want: 'x' },
    { desc: 'unknown function', tpl: '{{ frobnicate .Name }}', error: /not defined/ },
    { desc: 'unknown field', tpl: '{{ .Image }}', error: /can't evaluate field Image/ },
    { desc: 'unclosed action', tpl: 'Host(`{{ .Name`)', error: /unclosed/ },
    { desc: 'map as value', tpl: '{{ .Labels }}', error: /map/ },
    { desc: 'unterminated string', tpl: '{{ index .Labels "x }}', error: /unterminated/ },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = renderRuleTemplate(c.tpl, model);
      if (c.error) {
        assert.ok('error' in r && c.error.test(r.error), JSON.stringify(r));
      } else {
        assert.deepEqual(r, { value: c.want });
      }
    });
  }
});

describe('normalizeName', () => {
  for (const [input, want] of [
    ['web_shop', 'web-shop'],
    ['/a..b__c/', 'a-b-c'],
    ['Ünïcode_1', 'Ünïcode-1'],
    ['', ''],
  ] as const) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => assert.equal(normalizeName(input), want));
  }
});
