import { loadStaticSource } from '../config/static/load.ts';
import type { StaticSource } from '../config/static/sources.ts';

/** Finds the API of a running berth: `--api URL`, else `api.listen` of the config, else the default. */
export async function apiBase(flagApi: string | undefined, from: StaticSource | undefined): Promise<string> {
  if (flagApi) return flagApi.replace(/\/$/, '');
  const loaded = await loadStaticSource(from ?? { kind: 'embedded' });
  const listen = loaded.config?.api.listen ?? '127.0.0.1:7111';
  const host = listen.startsWith(':')
    ? `127.0.0.1${listen}`
    : listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  return `http://${host}`;
}

/** GETs a JSON document from the API with a clear error when berth is not running. */
export async function getJson(base: string, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new Error(
      `cannot reach berth's API at ${base} (${(err as Error).message}); is berth running? (--api URL to point elsewhere)`,
    );
  }
  const body = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body;
}
