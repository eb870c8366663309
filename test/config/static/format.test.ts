import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatStaticDiagnostics } from '../../../src/config/static/format.ts';
import { diagError, diagWarning } from '../../../src/lib/diagnostics.ts';

const cases: { desc: string; in: Parameters<typeof formatStaticDiagnostics>[0]; want: string }[] = [
  { desc: 'nothing to report', in: [], want: '' },
  {
    desc: 'errors before warnings, with a summary',
    in: [
      diagWarning('file b.yaml', 'tracing', 'not supported by berth; ignored'),
      diagError('file b.yaml', 'entryPoints.web.adress', 'unknown key, did you mean "address"?'),
    ],
    want: 'error: file b.yaml: entryPoints.web.adress: unknown key, did you mean "address"?\nwarning: file b.yaml: tracing: not supported by berth; ignored\nstatic configuration is invalid: 1 error, 1 warning',
  },
  {
    desc: 'warnings only',
    in: [diagWarning('f', 'a', 'x'), diagWarning('f', 'b', 'y')],
    want: 'warning: f: a: x\nwarning: f: b: y\nstatic configuration is valid with 2 warnings',
  },
  {
    desc: 'no element',
    in: [diagError('file x.yaml', undefined, 'file not found')],
    want: 'error: file x.yaml: file not found\nstatic configuration is invalid: 1 error, 0 warnings',
  },
];
for (const c of cases) test(c.desc, () => assert.equal(formatStaticDiagnostics(c.in), c.want));
