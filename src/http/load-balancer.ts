import type { StickyCookie } from '../config/dynamic/types.ts';
import { WeightedRoundRobin } from '../lib/weighted-round-robin.ts';
import type { ProxyRequest, ProxyResponse } from './handler.ts';

/** A server inside a load balancer, with its live health. */
export interface BalancedServer<T> {
  readonly value: T;
  readonly weight: number;
  /** Stable id used for sticky cookies (hash of the URL). */
  readonly id: string;
  healthy: boolean;
}

const isHealthy = (s: BalancedServer<unknown>): boolean => s.healthy;

/**
 * The servers of a load-balancer service: smooth weighted round robin over the healthy ones, with
 * Traefik's sticky cookie. O(n) per pick over a service's servers, which are few.
 */
export class LoadBalancer<T> {
  readonly servers: BalancedServer<T>[];
  readonly sticky: StickyCookie | undefined;
  readonly cookieName: string;
  private readonly wrr: WeightedRoundRobin<BalancedServer<T>>;

  constructor(servers: BalancedServer<T>[], sticky: StickyCookie | undefined, serviceName: string) {
    this.servers = servers;
    this.wrr = new WeightedRoundRobin(servers.map((s) => ({ item: s, weight: s.weight })));
    this.sticky = sticky;
    this.cookieName = sticky?.name ?? `_${shortHash(serviceName)}`;
  }

  /** Whether any server is up. */
  hasHealthy(): boolean {
    for (const s of this.servers) if (s.healthy) return true;
    return false;
  }

  /** Picks a server for this request (sticky first), or undefined when none is healthy. */
  pick(req: ProxyRequest): BalancedServer<T> | undefined {
    if (this.sticky) {
      const wanted = readCookie(req.headers.get('cookie'), this.cookieName);
      if (wanted) for (const s of this.servers) if (s.id === wanted && s.healthy) return s;
    }
    return this.wrr.next(isHealthy);
  }

  /** Sets the sticky cookie on the response when stickiness is on and the client lacks it. */
  stick(req: ProxyRequest, res: ProxyResponse, server: BalancedServer<T>): void {
    if (!this.sticky) return;
    if (readCookie(req.headers.get('cookie'), this.cookieName) === server.id) return;
    const c = this.sticky;
    let v = `${this.cookieName}=${server.id}; Path=${c.path ?? '/'}`;
    if (c.maxAge) v += `; Max-Age=${c.maxAge}`;
    if (c.httpOnly) v += '; HttpOnly';
    if (c.secure) v += '; Secure';
    if (c.sameSite) v += `; SameSite=${c.sameSite}`;
    res.appendHeader('set-cookie', v);
  }
}

/** A short stable hex hash (FNV-1a), for cookie names and server ids. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
