/**
 * The import rules of src/, checked by `npm run depcheck` (part of `npm test`).
 *
 * Imports point one way, down these layers; a module may import its own layer and any below it:
 *
 *   lib                      errors, diagnostics, backoff, … (no project imports)
 *   model                    plain types and helpers every layer shares (element status, name@provider)
 *   config                   static and dynamic configuration: decoders and types, no behaviour
 *   building blocks          engine, rules, http, tcp, udp, tls, providers, acme, dns, fleet,
 *                            observability, ops: each builds or runs one part, never the pipeline
 *   pipeline                 watcher → merge → compile → snapshot: calls the builders
 *   entrypoints, api         read the compiled snapshot
 *   composition              app.ts, parts.ts, data-plane/, workers/, cli/, main.ts, worker-main.ts
 *
 * Among the building blocks any direction is allowed as long as no cycle forms. There are no
 * exceptions: an import that needs one wants a new interface or a value passed down instead.
 */

const LIB = '^src/lib/';
const MODEL = '^src/model/';
const CONFIG = '^src/config/';
const BLOCKS = '^src/(engine|rules|http|tcp|udp|tls|providers|acme|dns|fleet|observability|ops)/';
const PIPELINE = '^src/pipeline/';
const READERS = '^src/(entrypoints|api)/';
const TOP = '^src/(app|parts|worker-main|main|compile-cache|version)[.]ts$|^src/(data-plane|workers|cli)/';

/** A rule forbidding `from` to import anything in src/ outside `allowed`. */
function layer(name, comment, from, allowed) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from },
    to: { path: '^src/', pathNot: allowed.join('|') },
  };
}

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle ties its modules into one; break it with a type moved down or a value passed down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    layer('lib-imports-nothing', 'lib/ is the bottom layer: it imports no other part of berth.', LIB, [LIB]),
    layer('model-imports-lib-only', 'model/ holds the shared plain types; it sits right above lib/.', MODEL, [
      LIB,
      MODEL,
    ]),
    layer(
      'config-below-blocks',
      'The configuration is plain data: it never imports a building block, the pipeline or the app.',
      CONFIG,
      [LIB, MODEL, CONFIG],
    ),
    layer(
      'blocks-below-pipeline',
      'A building block never imports the pipeline, a reader of the snapshot or the app: the compiler calls the blocks, not the other way round.',
      BLOCKS,
      [LIB, MODEL, CONFIG, BLOCKS],
    ),
    layer(
      'pipeline-below-readers',
      'The pipeline builds the snapshot; the entrypoints and the API read it.',
      PIPELINE,
      [LIB, MODEL, CONFIG, BLOCKS, PIPELINE],
    ),
    layer('readers-below-composition', 'Entrypoints and the API never reach into the composition root.', READERS, [
      LIB,
      MODEL,
      CONFIG,
      BLOCKS,
      PIPELINE,
      READERS,
    ]),
    {
      name: 'cli-and-main-on-top',
      comment: 'Only main.ts imports the CLI, and nothing imports main.ts or worker-main.ts.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(main[.]ts$|cli/)' },
      to: { path: '^src/(cli/|main[.]ts$|worker-main[.]ts$)' },
    },
    {
      name: 'workers-below-app',
      comment: 'The process model is composed by app.ts; it never imports the app back.',
      severity: 'error',
      from: { path: '^src/workers/' },
      to: { path: '^src/(app|parts)[.]ts$' },
    },
    {
      name: 'everything-in-a-layer',
      comment: 'Every module of src/ belongs to one of the layers above; a new folder gets its place here.',
      severity: 'error',
      from: { path: '^src/', pathNot: [LIB, MODEL, CONFIG, BLOCKS, PIPELINE, READERS, TOP].join('|') },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|test|bench)/' },
  },
};
