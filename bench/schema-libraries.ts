/**
 * The schema-library comparison of bench/README.md ("Choosing the configuration's schema library"):
 * load cost (heap/RSS after import, fresh process) and each library's own check of 10,000 `Host()`
 * routers and services. The candidates are not dependencies of berth: install them aside first,
 *   mkdir /tmp/libs && npm i --prefix /tmp/libs zod@4 valibot@1 typebox@1 @sinclair/typebox@0.34
 *   node bench/schema-libraries.ts /tmp/libs
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { routersConfig } from './lib/routers-config.ts';

const dir = process.argv[2]!;
const mode = process.argv[3];
const lib = process.argv[4]!;
const LIBS = ['zod', 'valibot', 'typebox', '@sinclair/typebox'];
const imp = async (name: string): Promise<any> =>
  import(pathToFileURL(createRequire(join(dir, 'x.js')).resolve(name)).href);

function mem(): { heap: number; rss: number } {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 1048576, rss: m.rss / 1048576 };
}

async function build(name: string): Promise<(v: unknown) => boolean> {
  if (name === 'zod') {
    const { z } = await imp('zod');
    const tls = z.strictObject({
      options: z.string().optional(),
      certResolver: z.string().optional(),
      domains: z.array(z.strictObject({ main: z.string(), sans: z.array(z.string()).optional() })).optional(),
    });
    const router = z.strictObject({
      entryPoints: z.array(z.string()).optional(),
      rule: z.string(),
      priority: z.number().int().optional(),
      middlewares: z.array(z.string()).optional(),
      service: z.string(),
      tls: tls.optional(),
    });
    const server = z.strictObject({
      url: z.string(),
      weight: z.number().int().optional(),
      preservePath: z.boolean().optional(),
    });
    const service = z.strictObject({
      loadBalancer: z
        .strictObject({
          servers: z.array(server).optional(),
          passHostHeader: z.boolean().optional(),
          serversTransport: z.string().optional(),
        })
        .optional(),
    });
    const s = z.strictObject({
      http: z.strictObject({ routers: z.record(z.string(), router), services: z.record(z.string(), service) }),
    });
    return (v) => s.safeParse(v).success;
  }
  if (name === 'valibot') {
    const v = await imp('valibot');
    const tls = v.strictObject({
      options: v.optional(v.string()),
      certResolver: v.optional(v.string()),
      domains: v.optional(v.array(v.strictObject({ main: v.string(), sans: v.optional(v.array(v.string())) }))),
    });
    const router = v.strictObject({
      entryPoints: v.optional(v.array(v.string())),
      rule: v.string(),
      priority: v.optional(v.pipe(v.number(), v.integer())),
      middlewares: v.optional(v.array(v.string())),
      service: v.string(),
      tls: v.optional(tls),
    });
    const server = v.strictObject({
      url: v.string(),
      weight: v.optional(v.pipe(v.number(), v.integer())),
      preservePath: v.optional(v.boolean()),
    });
    const service = v.strictObject({
      loadBalancer: v.optional(
        v.strictObject({
          servers: v.optional(v.array(server)),
          passHostHeader: v.optional(v.boolean()),
          serversTransport: v.optional(v.string()),
        }),
      ),
    });
    const s = v.strictObject({
      http: v.strictObject({ routers: v.record(v.string(), router), services: v.record(v.string(), service) }),
    });
    return (x) => v.safeParse(s, x).success;
  }
  const tb = name === 'typebox' ? await imp('typebox') : await imp('@sinclair/typebox');
  const T = tb.Type;
  const strict = { additionalProperties: false };
  const tls = T.Object(
    {
      options: T.Optional(T.String()),
      certResolver: T.Optional(T.String()),
      domains: T.Optional(T.Array(T.Object({ main: T.String(), sans: T.Optional(T.Array(T.String())) }, strict))),
    },
    strict,
  );
  const router = T.Object(
    {
      entryPoints: T.Optional(T.Array(T.String())),
      rule: T.String(),
      priority: T.Optional(T.Integer()),
      middlewares: T.Optional(T.Array(T.String())),
      service: T.String(),
      tls: T.Optional(tls),
    },
    strict,
  );
  const server = T.Object(
    { url: T.String(), weight: T.Optional(T.Integer()), preservePath: T.Optional(T.Boolean()) },
    strict,
  );
  const service = T.Object(
    {
      loadBalancer: T.Optional(
        T.Object(
          {
            servers: T.Optional(T.Array(server)),
            passHostHeader: T.Optional(T.Boolean()),
            serversTransport: T.Optional(T.String()),
          },
          strict,
        ),
      ),
    },
    strict,
  );
  const s = T.Object(
    { http: T.Object({ routers: T.Record(T.String(), router), services: T.Record(T.String(), service) }, strict) },
    strict,
  );
  if (name === 'typebox') {
    const { Compile } = await imp('typebox/compile');
    const { Value } = await imp('typebox/value');
    if (process.env.COMPILE === '1') {
      const c = Compile(s);
      return (x) => c.Check(x);
    }
    return (x) => Value.Check(s, x);
  }
  const { Value } = await imp('@sinclair/typebox/value');
  if (process.env.COMPILE === '1') {
    const { TypeCompiler } = await imp('@sinclair/typebox/compiler');
    const c = TypeCompiler.Compile(s);
    return (x) => c.Check(x);
  }
  return (x) => Value.Check(s, x);
}

if (mode === 'load') {
  const before = mem();
  if (lib !== 'none') await build(lib);
  const after = mem();
  process.stdout.write(
    JSON.stringify({
      lib,
      heapMB: +(after.heap - before.heap).toFixed(2),
      rssMB: +(after.rss - before.rss).toFixed(2),
      rssTotalMB: +after.rss.toFixed(1),
    }) + '\n',
  );
} else if (mode === 'decode') {
  const check = await build(lib);
  const doc = routersConfig(10_000);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    if (!check(doc)) throw new Error('invalid');
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(
    JSON.stringify({
      lib,
      compile: process.env.COMPILE === '1',
      firstMs: +times[0]!.toFixed(1),
      medianMs: +times[3]!.toFixed(1),
    }) + '\n',
  );
} else {
  for (const l of ['none', ...LIBS])
    process.stdout.write(execFileSync(process.execPath, ['--expose-gc', process.argv[1]!, dir, 'load', l]));
  for (const l of LIBS) process.stdout.write(execFileSync(process.execPath, [process.argv[1]!, dir, 'decode', l]));
  for (const l of ['typebox', '@sinclair/typebox'])
    process.stdout.write(
      execFileSync(process.execPath, [process.argv[1]!, dir, 'decode', l], { env: { ...process.env, COMPILE: '1' } }),
    );
}
