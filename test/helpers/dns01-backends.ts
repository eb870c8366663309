import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { timeoutSignal } from './with-timeout.ts';

/**
 * Small real peers for lego's generic DNS-01 providers: an `httpreq` endpoint, an acme-dns server
 * (Debian packages none; this speaks its /register and /update API) and an `exec` script. Each keeps
 * the records it holds and, given challtestsrv's management URL, publishes them there so pebble
 * validates against them.
 */

/** TXT values by FQDN (trailing dot), shared by the peers. */
export class TxtBook {
  readonly records = new Map<string, string[]>();
  private readonly challtestsrv: string | undefined;

  constructor(challtestsrv?: string) {
    this.challtestsrv = challtestsrv;
  }

  values(fqdn: string): string[] {
    return [...(this.records.get(fqdn.toLowerCase()) ?? [])];
  }

  async add(fqdn: string, value: string, keep = Infinity): Promise<void> {
    const key = fqdn.toLowerCase();
    const list = [...(this.records.get(key) ?? []), value].slice(-keep);
    this.records.set(key, list);
    await this.publish(key);
  }

  async remove(fqdn: string, value: string): Promise<void> {
    const key = fqdn.toLowerCase();
    this.records.set(
      key,
      (this.records.get(key) ?? []).filter((v) => v !== value),
    );
    await this.publish(key);
  }

  private async publish(host: string): Promise<void> {
    if (!this.challtestsrv) return;
    await post(`${this.challtestsrv}/clear-txt`, { host });
    for (const value of this.records.get(host) ?? []) await post(`${this.challtestsrv}/set-txt`, { host, value });
  }
}

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), signal: timeoutSignal(15_000, url) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
}

async function readJson(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, string>;
}

function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/** An httpreq endpoint (lego's protocol): /present and /cleanup, default or RAW bodies, basic auth. */
export interface HttpReqEndpoint {
  readonly url: string;
  readonly book: TxtBook;
  /** Request bodies seen, per path. */
  readonly seen: { path: string; body: Record<string, string> }[];
  close(): Promise<void>;
}

export async function startHttpReqEndpoint(
  opts: { challtestsrv?: string; username?: string; password?: string; raw?: boolean } = {},
): Promise<HttpReqEndpoint> {
  const book = new TxtBook(opts.challtestsrv);
  const seen: { path: string; body: Record<string, string> }[] = [];
  const expected =
    opts.username !== undefined
      ? `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`
      : undefined;
  const srv = await listen(async (req, res) => {
    if (expected && req.headers.authorization !== expected) return void res.writeHead(401).end('bad credentials');
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json')
      return void res.writeHead(400).end('expected a JSON POST');
    const body = await readJson(req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    seen.push({ path, body });
    // RAW: the endpoint computes the record itself from domain and key authorisation.
    const fqdn = opts.raw ? `_acme-challenge.${body['domain']}.` : body['fqdn'];
    const value = opts.raw ? sha256b64url(body['keyAuth'] ?? '') : body['value'];
    if (!fqdn || !value) return void res.writeHead(400).end('missing fields');
    if (path.endsWith('/present')) await book.add(fqdn, value);
    else if (path.endsWith('/cleanup')) await book.remove(fqdn, value);
    else return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  return { url: srv.url, book, seen, close: srv.close };
}

function sha256b64url(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}

/** An acme-dns server: /register gives credentials for a new subdomain of `authZone`, /update sets its TXT (latest two kept). */
export interface AcmeDnsServer {
  readonly url: string;
  readonly book: TxtBook;
  readonly authZone: string;
  registrations(): number;
  close(): Promise<void>;
}

export async function startAcmeDnsServer(
  opts: { challtestsrv?: string; authZone?: string } = {},
): Promise<AcmeDnsServer> {
  const book = new TxtBook(opts.challtestsrv);
  const authZone = opts.authZone ?? 'auth.example.org';
  const accounts = new Map<string, { username: string; password: string }>();
  let registered = 0;
  const srv = await listen(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = await readJson(req);
    if (req.method === 'POST' && path === '/register') {
      registered++;
      const subdomain = randomBytes(8).toString('hex');
      const account = { username: randomBytes(8).toString('hex'), password: randomBytes(16).toString('hex') };
      accounts.set(subdomain, account);
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ...account, fulldomain: `${subdomain}.${authZone}`, subdomain, allowfrom: [] }));
      return;
    }
    if (req.method === 'POST' && path === '/update') {
      const account = accounts.get(body['subdomain'] ?? '');
      if (!account || req.headers['x-api-user'] !== account.username || req.headers['x-api-key'] !== account.password)
        return void res.writeHead(401).end('{"error":"forbidden"}');
      if (!/^[A-Za-z0-9_-]{43}$/.test(body['txt'] ?? '')) return void res.writeHead(400).end('{"error":"bad_txt"}');
      await book.add(`${body['subdomain']}.${authZone}.`, body['txt']!, 2);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ txt: body['txt'] }));
      return;
    }
    res.writeHead(404).end();
  });
  return { url: srv.url, book, authZone, registrations: () => registered, close: srv.close };
}

/**
 * Writes an `exec` provider script: it keeps `fqdn value` lines in `records` (RAW mode: `domain
 * token keyAuth`) and, when CHALLTESTSRV is set in its environment, publishes them with curl.
 */
export function writeExecScript(dir: string): { path: string; records: string } {
  const path = join(dir, 'dns-hook.sh');
  const records = join(dir, 'records.txt');
  writeFileSync(records, '');
  writeFileSync(
    path,
    `#!/bin/sh
set -eu
records='${records}'
action="$1"; shift
if [ "\${EXEC_MODE:-}" = RAW ]; then line="$1 $2 $3"; else line="$1 $2"; fi
case "$action" in
  present) echo "$line" >> "$records" ;;
  cleanup) grep -v -F -x "$line" "$records" > "$records.tmp" || true; mv "$records.tmp" "$records" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
if [ -n "\${CHALLTESTSRV:-}" ] && [ "\${EXEC_MODE:-}" != RAW ]; then
  curl -fsS -X POST -d "{\\"host\\":\\"$1\\"}" "$CHALLTESTSRV/clear-txt" >/dev/null
  grep -F "$1 " "$records" | while read -r host value; do
    curl -fsS -X POST -d "{\\"host\\":\\"$host\\",\\"value\\":\\"$value\\"}" "$CHALLTESTSRV/set-txt" >/dev/null
  done
fi
`,
  );
  chmodSync(path, 0o755);
  return { path, records };
}
