import type { Generator } from './load.ts';

/** One benchmark scenario: the same request shape sent to every target. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** What the rate counts. */
  readonly unit: 'req/s' | 'handshakes/s' | 'msg/s';
  readonly tls: boolean;
  readonly path: string;
  readonly connections: number;
  /** Host routers configured on every target (the request asks for the last one). */
  readonly routers: number;
  /** Generators in order; each measures every target. */
  readonly generators: readonly Generator[];
  /** Uses a WebSocket (needs the /ws route). */
  readonly websocket?: boolean;
  /** Also measures berth with one router in the same scenario, as the reference for "N routers". */
  readonly oneRouterReference?: boolean;
}

/** The number of routers of the host-lookup scenario. */
export const MANY_ROUTERS = 10_000;

/** Every scenario, in run order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'http-keepalive',
    title: 'HTTP/1.1 keep-alive, small body (13 B), 50 connections',
    unit: 'req/s',
    tls: false,
    path: '/',
    connections: 50,
    routers: 1,
    generators: ['autocannon', 'wrk'],
  },
  {
    id: 'many-connections',
    title: 'HTTP/1.1 keep-alive, small body, 500 connections',
    unit: 'req/s',
    tls: false,
    path: '/',
    connections: 500,
    routers: 1,
    generators: ['autocannon', 'wrk'],
  },
  {
    id: 'https-keepalive',
    title: 'HTTPS keep-alive (TLS 1.3, ECDSA P-256), small body, 50 connections',
    unit: 'req/s',
    tls: true,
    path: '/',
    connections: 50,
    routers: 1,
    generators: ['autocannon', 'wrk'],
  },
  {
    id: 'tls-handshake',
    title: 'New TLS connection per request (full handshake, no resumption)',
    unit: 'handshakes/s',
    tls: true,
    path: '/',
    connections: 8,
    routers: 1,
    generators: ['node-tls', 'openssl-s_time'],
  },
  {
    id: 'body-1k',
    title: 'HTTP/1.1 keep-alive, 1 KiB body, 50 connections',
    unit: 'req/s',
    tls: false,
    path: '/1k',
    connections: 50,
    routers: 1,
    generators: ['autocannon', 'wrk'],
  },
  {
    id: 'body-1m',
    title: 'HTTP/1.1 keep-alive, 1 MiB body, 10 connections',
    unit: 'req/s',
    tls: false,
    path: '/1m',
    connections: 10,
    routers: 1,
    generators: ['autocannon', 'wrk'],
  },
  {
    id: 'routers-10k',
    title: `Host lookup among ${MANY_ROUTERS.toLocaleString('en-US')} host routers (request for the last one), 50 connections`,
    unit: 'req/s',
    tls: false,
    path: '/',
    connections: 50,
    routers: MANY_ROUTERS,
    generators: ['autocannon', 'wrk'],
    oneRouterReference: true,
  },
  {
    id: 'websocket',
    title: 'WebSocket echo round trips, 64-byte messages, 50 connections',
    unit: 'msg/s',
    tls: false,
    path: '/ws',
    connections: 50,
    routers: 1,
    generators: ['node-ws'],
    websocket: true,
  },
];
