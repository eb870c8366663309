/**
 * On-demand entrypoints. A router may name `:PORT` among its entrypoints — what RPROXY routes do
 * (`RPROXY=tcp://irc.example.org:6667`, `http://web2.example.org:8088`): it attaches to the
 * entrypoints that listen on PORT, or, when none does, to `tcp-PORT`, opened on `edge.bindAddress`
 * for as long as some router needs it. A port that belongs to an entrypoint of another kind — a TLS
 * or web entrypoint for a TCP route, a TLS one for plain HTTP, a UDP entrypoint named `tcp-PORT`,
 * the API's port — or that HTTP and TCP routes both ask for, refuses the routers that cannot have it.
 */
import type { DynamicConfig } from '../config/dynamic/types.ts';
import { parseListenAddress } from '../config/static/address.ts';
import { edgeEntryPoint } from '../config/static/generated-entrypoints.ts';
import type { EntryPointConfig, StaticConfig } from '../config/static/types.ts';

const PORT_REF = /^:(\d{1,5})$/;

/** What resolving the `:PORT` references of a merged configuration gives. */
export interface OnDemandResolution {
  /** The configuration with every `:PORT` replaced by entrypoint names; refused routers left out. */
  readonly config: DynamicConfig;
  /** Entrypoints to open because only these routers need them (`tcp-6667`), by name. */
  readonly extra: Record<string, EntryPointConfig>;
  /** Refused routers (qualified names) and why, by kind. */
  readonly refused: readonly {
    readonly kind: 'http-router' | 'tcp-router';
    readonly name: string;
    readonly message: string;
  }[];
}

type Kind = 'http' | 'tcp';

/** The port a `:PORT` entrypoint reference names, or undefined for a name. */
export function portReference(entrypoint: string): number | undefined {
  const m = PORT_REF.exec(entrypoint.trim());
  const port = m ? Number(m[1]) : Number.NaN;
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Resolves every `:PORT` of HTTP and TCP routers against the static entrypoints. Never throws on input. */
export function resolveOnDemand(config: DynamicConfig, staticConfig: StaticConfig): OnDemandResolution {
  const eps = staticConfig.entryPoints;
  const wanted = new Map<number, Record<Kind, string[]>>();
  const scan = (
    kind: Kind,
    routers: Readonly<Record<string, { entryPoints?: string[] | undefined }>> | undefined,
  ): void => {
    for (const [name, r] of Object.entries(routers ?? {})) {
      for (const ep of r.entryPoints ?? []) {
        const port = portReference(ep);
        if (port === undefined) continue;
        const w = wanted.get(port) ?? { http: [], tcp: [] };
        wanted.set(port, w);
        if (!w[kind].includes(name)) w[kind].push(name);
      }
    }
  };
  scan('http', config.http?.routers);
  scan('tcp', config.tcp?.routers);
  if (wanted.size === 0) return { config, extra: {}, refused: [] };

  const apiPort = (() => {
    const a = parseListenAddress(staticConfig.api.listen);
    return 'error' in a ? undefined : a.port;
  })();
  const names = new Map<string, string[]>();
  const refusedBy = new Map<string, { kind: Kind; message: string }>();
  const extra: Record<string, EntryPointConfig> = {};
  const refuse = (kind: Kind, routers: readonly string[], message: string): void => {
    for (const r of routers) if (!refusedBy.has(`${kind} ${r}`)) refusedBy.set(`${kind} ${r}`, { kind, message });
  };
  for (const [port, w] of [...wanted].sort(([a], [b]) => a - b)) {
    const onPort = Object.entries(eps).filter(([, e]) => e.protocol === 'tcp' && e.port === port);
    const own = `tcp-${port}`;
    if (onPort.length === 0 && eps[own] !== undefined) {
      refuse(
        'http',
        w.http,
        `port ${port}: entrypoint "${own}" is configured for ${eps[own].protocol.toUpperCase()}; rename it or choose another port`,
      );
      refuse(
        'tcp',
        w.tcp,
        `port ${port}: entrypoint "${own}" is configured for ${eps[own].protocol.toUpperCase()}; rename it or choose another port`,
      );
      continue;
    }
    if (onPort.length > 0) {
      const tls = onPort.find(([, e]) => e.http?.tls !== undefined);
      if (tls)
        refuse(
          'http',
          w.http,
          `port ${port} is entrypoint "${tls[0]}", which terminates TLS; a plain HTTP route needs a plain port`,
        );
      const web = onPort.find(([n, e]) => servesHttp(n, e));
      if (web)
        refuse(
          'tcp',
          w.tcp,
          `port ${port} is entrypoint "${web[0]}", which serves HTTP; a TCP route there would take every connection`,
        );
      names.set(
        `:${port}`,
        onPort.map(([n]) => n),
      );
      continue;
    }
    if (port === apiPort) {
      refuse('http', w.http, `port ${port} is the API's (api.listen); choose another port`);
      refuse('tcp', w.tcp, `port ${port} is the API's (api.listen); choose another port`);
      continue;
    }
    if (w.http.length > 0 && w.tcp.length > 0) {
      refuse(
        'tcp',
        w.tcp,
        `port ${port} is asked for HTTP by ${w.http.map((n) => `"${n}"`).join(', ')}; a TCP route there would take every connection`,
      );
    }
    extra[own] = edgeEntryPoint(staticConfig.edge, port, 'tcp');
    names.set(`:${port}`, [own]);
  }

  const rewrite = <R extends { entryPoints?: string[] | undefined }>(
    kind: Kind,
    routers: Readonly<Record<string, R>> | undefined,
  ): Record<string, R> | undefined => {
    if (routers === undefined) return undefined;
    const out: Record<string, R> = {};
    for (const [name, r] of Object.entries(routers)) {
      if (refusedBy.has(`${kind} ${name}`)) continue;
      const list = r.entryPoints;
      if (list === undefined || !list.some((e) => portReference(e) !== undefined)) {
        out[name] = r;
        continue;
      }
      out[name] = {
        ...r,
        entryPoints: [
          ...new Set(
            list.flatMap((e) => (portReference(e) === undefined ? [e] : (names.get(`:${portReference(e)}`) ?? []))),
          ),
        ],
      };
    }
    return out;
  };
  const httpRouters = rewrite('http', config.http?.routers);
  const tcpRouters = rewrite('tcp', config.tcp?.routers);
  const http = config.http && httpRouters ? { ...config.http, routers: httpRouters } : config.http;
  const tcp = config.tcp && tcpRouters ? { ...config.tcp, routers: tcpRouters } : config.tcp;
  const refused = [...refusedBy].map(([key, v]) => ({
    kind: v.kind === 'http' ? ('http-router' as const) : ('tcp-router' as const),
    name: key.slice(key.indexOf(' ') + 1),
    message: v.message,
  }));
  return { config: { ...config, ...(http ? { http } : {}), ...(tcp ? { tcp } : {}) }, extra, refused };
}

/** Whether an entrypoint is there for HTTP: a web or websecure one, or one with HTTP settings. */
function servesHttp(name: string, e: EntryPointConfig): boolean {
  if (/^web(secure)?(-v6)?$/.test(name)) return true;
  return e.http?.tls !== undefined || e.http?.redirections !== undefined || (e.http?.middlewares?.length ?? 0) > 0;
}
