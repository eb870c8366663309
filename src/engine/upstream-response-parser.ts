import type { Socket } from 'node:net';
import { parseLength } from './h1-head.ts';
import { sameName } from './header-list.ts';
import {
  consumableHandle,
  createParser,
  ON_BODY,
  ON_EXECUTE,
  ON_HEADERS,
  ON_HEADERS_COMPLETE,
  ON_MESSAGE_COMPLETE,
  type LlhttpParser,
  type ParseError,
} from './llhttp.ts';

/**
 * The llhttp response parser of an upstream connection and the glue routing its callbacks to the
 * connection. Kept apart from the connection so the parser wiring and the response limits sit in
 * one place, below the exchange logic that reacts to them.
 */

/** Largest upstream response head accepted (bytes); a bigger one is a bad response (502). */
export const MAX_RESPONSE_HEAD = 256 * 1024;
/**
 * From this Content-Length on, berth counts the body bytes itself instead of having llhttp copy
 * every read into a new buffer: the reads are passed on as they are, as a byte relay would.
 */
export const RAW_BODY_MIN = 64 * 1024;

/** What the response parser calls back into: the upstream connection reading the response. */
export interface ResponseParserOwner {
  partHead(headers: string[]): void;
  headComplete(
    headers: string[] | undefined,
    status: number,
    reason: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number;
  bodyChunk(chunk: Buffer): void;
  messageComplete(): void;
  consumedRead(result: number | ParseError): void;
}

/** The native stream handle a parser can consume directly. */
export type NativeHandle = { readStart(): number; readStop(): number };

interface OwnedParser extends LlhttpParser {
  owner: ResponseParserOwner;
}

function onHeaders(this: OwnedParser, headers: string[]): void {
  this.owner.partHead(headers);
}

function onHeadersComplete(
  this: OwnedParser,
  _major: number,
  _minor: number,
  headers: string[] | undefined,
  _method: unknown,
  _url: unknown,
  status: number,
  reason: string,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  return this.owner.headComplete(headers, status, reason, upgrade, keepAlive);
}

function onBody(this: OwnedParser, chunk: Buffer): void {
  this.owner.bodyChunk(chunk);
}

function onMessageComplete(this: OwnedParser): void {
  this.owner.messageComplete();
}

function onExecute(this: OwnedParser, result: number | ParseError): void {
  this.owner.consumedRead(result);
}

/**
 * A response parser calling back into `owner`; it consumes the socket's native stream directly
 * when it can, and then returns that handle (else the socket's 'data' events feed it).
 */
export function createResponseParser(
  owner: ResponseParserOwner,
  socket: Socket,
): { parser: LlhttpParser; handle: NativeHandle | undefined } {
  const p = createParser('response', MAX_RESPONSE_HEAD) as OwnedParser;
  p.owner = owner;
  p[ON_HEADERS] = onHeaders;
  p[ON_HEADERS_COMPLETE] = onHeadersComplete;
  p[ON_BODY] = onBody;
  p[ON_MESSAGE_COMPLETE] = onMessageComplete;
  const h = consumableHandle(socket);
  if (h !== undefined) {
    p[ON_EXECUTE] = onExecute;
    p.consume(h);
  }
  return { parser: p, handle: h };
}

/** The Content-Length of a response head llhttp accepted (at most one), or -1. */
export function contentLength(raw: readonly string[]): number {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 14 && sameName(raw[i]!, 'content-length')) return parseLength(raw[i + 1]!);
  }
  return -1;
}
