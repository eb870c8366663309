import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The worker side of HTTP-01: the tokens the primary's ACME manager publishes, answered on
 * `/.well-known/acme-challenge/<token>` before routing (as the primary's Http01Responder does).
 * Kept apart from src/acme so a worker never loads the ACME client library and its dependency
 * tree (axios, node-forge, @peculiar/*), which cost every worker ~10 MB of RSS for nothing.
 */
export class Http01Tokens {
  private tokens = new Map<string, string>();

  /** Replaces every token with the primary's current set. */
  replace(entries: readonly [string, string][]): void {
    this.tokens = new Map(entries);
  }

  /** Answers a challenge request; returns false when `req` is not one this worker knows. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    const prefix = '/.well-known/acme-challenge/';
    if (!url.startsWith(prefix)) return false;
    const token = url.slice(prefix.length).split('?')[0] ?? '';
    const keyAuth = this.tokens.get(token);
    if (keyAuth === undefined) return false;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(keyAuth) });
    res.end(req.method === 'HEAD' ? undefined : keyAuth);
    return true;
  }
}
