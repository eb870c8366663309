/*
 * Kept free of the ACME client library: data-plane workers answer the primary's tokens with this
 * class and must not load acme-client and its dependency tree (~10 MB of RSS each).
 */

/** The request side an answer needs: Node's `IncomingMessage` and berth's own request both fit. */
export interface ChallengeRequest {
  readonly url?: string | undefined;
  readonly method?: string | undefined;
}

/** The response side an answer needs: Node's `ServerResponse` and berth's own response both fit. */
export interface ChallengeResponse {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: string): unknown;
}

/** HTTP-01 tokens, shared by every resolver: the `web` entrypoint answers them before routing. */
export class Http01Responder {
  private readonly tokens = new Map<string, string>();
  private readonly listeners = new Set<() => void>();

  set(token: string, keyAuthorization: string): void {
    this.tokens.set(token, keyAuthorization);
    for (const l of this.listeners) l();
  }

  delete(token: string): void {
    this.tokens.delete(token);
    for (const l of this.listeners) l();
  }

  /** Current tokens (for replication to worker processes). */
  entries(): [string, string][] {
    return [...this.tokens];
  }

  /** Replaces every token (worker side of the replication). */
  replace(entries: readonly [string, string][]): void {
    this.tokens.clear();
    for (const [t, k] of entries) this.tokens.set(t, k);
  }

  /** Called after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Answers `GET /.well-known/acme-challenge/<token>`; returns false when the request is not one. */
  handle(req: ChallengeRequest, res: ChallengeResponse): boolean {
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
