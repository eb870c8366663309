import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { timeoutSignal } from './with-timeout.ts';

/**
 * An emulator of Cloudflare's DNS-records API (v4) for the real `cloudflare` SDK: zones by name,
 * DNS records CRUD with the filters berth uses, Cloudflare's response envelope, 403 for a wrong
 * token, failure injection, per-method counters. TXT records are published into
 * pebble-challtestsrv so pebble's DNS-01 validation sees them.
 */

export interface EmulatedRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  proxied: boolean;
  created_on: string;
  modified_on: string;
}

export interface CloudflareEmulator {
  /** Base URL for the SDK (`baseURL` / CLOUDFLARE_BASE_URL). */
  readonly url: string;
  /** The only accepted API token. */
  readonly token: string;
  /** Creates a zone and returns its id. */
  addZone(name: string): string;
  /** Current records, optionally of one type. */
  records(type?: string): EmulatedRecord[];
  /** Requests per HTTP method (after auth and injection; failed injected requests count under `injected`). */
  readonly counters: Record<string, number>;
  /** Every record ever created, in order (deleted ones too). */
  readonly created: EmulatedRecord[];
  /** Every request line seen, e.g. `POST /zones/z1/dns_records`. */
  readonly log: string[];
  /** Every answer sent, in order, with `performance.now()` at its end and the name of the record a POST created. */
  readonly answered: AnsweredRequest[];
  /** The next `count` requests fail with `status` (and `Retry-After` seconds when given). */
  failNext(count: number, status: number, retryAfterSeconds?: number): void;
  resetCounters(): void;
  close(): Promise<void>;
}

/** One answered request of {@link CloudflareEmulator.answered}. */
export interface AnsweredRequest {
  readonly line: string;
  status: number;
  at: number;
  /** Name of the record the request created (POST …/dns_records). */
  created?: string;
}

interface Zone {
  id: string;
  name: string;
}

/** Starts the emulator on 127.0.0.1:0. `challtestsrv` is the management URL for TXT forwarding. */
export async function startCloudflareEmulator(
  opts: { token?: string; challtestsrv?: string } = {},
): Promise<CloudflareEmulator> {
  const token = opts.token ?? `cf-${randomBytes(8).toString('hex')}`;
  const zones = new Map<string, Zone>();
  const records = new Map<string, EmulatedRecord>();
  const counters: Record<string, number> = {};
  const log: string[] = [];
  const created: EmulatedRecord[] = [];
  let failures: { count: number; status: number; retryAfter?: number } = { count: 0, status: 500 };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const data = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(data),
      ...headers,
    });
    res.end(data);
  };
  const ok = (res: ServerResponse, result: unknown, resultInfo?: unknown) =>
    send(res, 200, {
      success: true,
      errors: [],
      messages: [],
      result,
      ...(resultInfo ? { result_info: resultInfo } : {}),
    });
  const fail = (res: ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>) =>
    send(res, status, { success: false, errors: [{ code, message }], messages: [], result: null }, headers);
  const list = (res: ServerResponse, items: unknown[], q: URLSearchParams) => {
    const perPage = Number(q.get('per_page') ?? 100);
    const page = Number(q.get('page') ?? 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    ok(res, slice, {
      page,
      per_page: perPage,
      count: slice.length,
      total_count: items.length,
      total_pages: Math.max(1, Math.ceil(items.length / perPage)),
    });
  };

  const fqdn = (n: string) => (n.endsWith('.') ? n : `${n}.`);
  const publishTxt = async (name: string) => {
    if (!opts.challtestsrv) return;
    const host = fqdn(name);
    await post(`${opts.challtestsrv}/clear-txt`, { host });
    for (const r of records.values()) {
      if (r.type === 'TXT' && fqdn(r.name) === host)
        await post(`${opts.challtestsrv}/set-txt`, { host, value: unquote(r.content) });
    }
  };

  const answered: AnsweredRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse, answer: AnsweredRequest): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/client\/v4/, '').replace(/\/$/, '');
    log.push(`${method} ${path}`);
    if (req.headers.authorization !== `Bearer ${token}`) {
      fail(res, 403, 9109, 'Invalid access token');
      return;
    }
    if (failures.count > 0) {
      failures.count--;
      counters['injected'] = (counters['injected'] ?? 0) + 1;
      const headers: Record<string, string> =
        failures.retryAfter !== undefined ? { 'retry-after': String(failures.retryAfter) } : {};
      fail(
        res,
        failures.status,
        failures.status === 429 ? 10000 : 10001,
        failures.status === 429 ? 'Rate limited' : 'Internal error',
        headers,
      );
      return;
    }
    counters[method] = (counters[method] ?? 0) + 1;
    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readJson(req) : {};
    const q = url.searchParams;

    if (method === 'GET' && path === '/zones') {
      const name = q.get('name');
      list(
        res,
        [...zones.values()]
          .filter((z) => !name || z.name === name)
          .map((z) => ({ id: z.id, name: z.name, status: 'active' })),
        q,
      );
      return;
    }
    const m = /^\/zones\/([^/]+)\/dns_records(?:\/([^/]+))?$/.exec(path);
    const zone = m ? [...zones.values()].find((z) => z.id === m[1]) : undefined;
    if (!m || !zone) {
      fail(res, 404, 7003, `no route for ${method} ${path}`);
      return;
    }
    const rid = m[2];
    if (!rid && method === 'GET') {
      const type = q.get('type');
      const name = q.get('name.exact') ?? q.get('name');
      const content = q.get('content.exact') ?? q.get('content');
      list(
        res,
        [...records.values()].filter(
          (r) =>
            r.zone_id === zone.id &&
            (!type || r.type === type) &&
            (!name || r.name === name) &&
            (!content || r.content === content),
        ),
        q,
      );
      return;
    }
    if (!rid && method === 'POST') {
      const err = validate(body);
      if (err) return fail(res, 400, 9000, err);
      const now = new Date().toISOString();
      const r: EmulatedRecord = {
        id: randomBytes(16).toString('hex'),
        zone_id: zone.id,
        zone_name: zone.name,
        type: String(body['type']),
        name: String(body['name']),
        content: String(body['content']),
        ttl: Number(body['ttl'] ?? 1),
        proxied: body['proxied'] === true,
        created_on: now,
        modified_on: now,
      };
      records.set(r.id, r);
      created.push(r);
      answer.created = r.name;
      if (r.type === 'TXT') await publishTxt(r.name);
      ok(res, r);
      return;
    }
    const rec = rid ? records.get(rid) : undefined;
    if (!rec || rec.zone_id !== zone.id) {
      fail(res, 404, 81044, 'Record does not exist.');
      return;
    }
    if (method === 'GET') return ok(res, rec);
    if (method === 'DELETE') {
      records.delete(rec.id);
      if (rec.type === 'TXT') await publishTxt(rec.name);
      return ok(res, { id: rec.id });
    }
    if (method === 'PATCH' || method === 'PUT') {
      const merged =
        method === 'PUT'
          ? { ...body }
          : { type: rec.type, name: rec.name, content: rec.content, ttl: rec.ttl, proxied: rec.proxied, ...body };
      const err = validate(merged);
      if (err) return fail(res, 400, 9000, err);
      const next: EmulatedRecord = {
        ...rec,
        type: String(merged['type']),
        name: String(merged['name']),
        content: String(merged['content']),
        ttl: Number(merged['ttl'] ?? 1),
        proxied: merged['proxied'] === true,
        modified_on: new Date().toISOString(),
      };
      records.set(rec.id, next);
      if (next.type === 'TXT' || rec.type === 'TXT') await publishTxt(next.name);
      return ok(res, next);
    }
    fail(res, 405, 10000, 'method not allowed');
  };

  const server = createServer((req, res) => {
    const answer: AnsweredRequest = { line: `${req.method ?? 'GET'} ${req.url ?? '/'}`, status: 0, at: NaN };
    res.once('finish', () => {
      answer.status = res.statusCode;
      answer.at = performance.now();
      answered.push(answer);
    });
    handle(req, res, answer).catch((err: unknown) => fail(res, 500, 10001, String(err)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  let zoneSeq = 0;

  return {
    url: `http://127.0.0.1:${port}/client/v4`,
    token,
    counters,
    created,
    log,
    answered,
    addZone(name) {
      const id = `zone${++zoneSeq}${randomBytes(4).toString('hex')}`;
      zones.set(id, { id, name });
      return id;
    },
    records: (type) => [...records.values()].filter((r) => !type || r.type === type),
    failNext(count, status, retryAfterSeconds) {
      failures = retryAfterSeconds === undefined ? { count, status } : { count, status, retryAfter: retryAfterSeconds };
    },
    resetCounters() {
      for (const k of Object.keys(counters)) delete counters[k];
      log.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function validate(b: Record<string, unknown>): string | undefined {
  if (typeof b['type'] !== 'string' || typeof b['name'] !== 'string' || typeof b['content'] !== 'string')
    return 'type, name and content are required';
  if (b['type'] === 'A' && !/^\d+\.\d+\.\d+\.\d+$/.test(b['content'])) return 'content for A record is invalid';
  if (b['type'] === 'AAAA' && !b['content'].includes(':')) return 'content for AAAA record is invalid';
  return undefined;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return {};
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), signal: timeoutSignal(15_000, url) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`challtestsrv ${url}: ${res.status}`);
}
