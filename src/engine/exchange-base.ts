import { sendStatus } from './answers.ts';
import { ClientBodyError, type ProxyRequest } from './message.ts';
import type { ProxyResponse } from './response.ts';
import { UpstreamFailure } from './upstream-failure.ts';
import type { UpstreamTarget } from './upstream-target.ts';

/** Why a forward failed, mapped to berth's own status. */
export type ForwardFailure = 'refused' | 'timeout' | 'reset' | 'dial-timeout';

const STATUS: Readonly<Record<ForwardFailure, number>> = {
  refused: 502,
  reset: 502,
  timeout: 504,
  'dial-timeout': 504,
};

/** Classifies a connection failure. */
export function classifyFailure(err: NodeJS.ErrnoException): ForwardFailure {
  if (err instanceof UpstreamFailure) return err.code === 'DIAL_TIMEOUT' ? 'dial-timeout' : 'reset';
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
    case 'EMFILE':
    case 'ENFILE':
      return 'refused';
    case 'ETIMEDOUT':
      return 'dial-timeout';
    default:
      return 'reset';
  }
}

function onHeaderTimeout(x: ExchangeBase): void {
  x.headerTimedOut();
}

/**
 * What a forwarded request does the same whichever way it goes upstream (an HTTP/1.1 connection
 * of the pool, or a stream of an `h2c://` session): how it ends when the client's body fails, when
 * the client's response closes, when the upstream fails (502/504 before the response began, the
 * client's response aborted after) and when no response head comes in time. A subclass says how
 * its upstream side is given up.
 */
export abstract class ExchangeBase {
  protected readonly req: ProxyRequest;
  protected readonly res: ProxyResponse;
  protected readonly target: UpstreamTarget;
  protected readonly passHostHeader: boolean;
  /** Told the failure kind (passive health, logs). */
  private readonly onFailure: ((kind: ForwardFailure) => void) | undefined;
  /** The request's body has all gone upstream (or there is none). */
  requestDone = false;
  protected responded = false;
  protected finished = false;
  protected timedOut = false;
  protected bodyWaiting = false;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    req: ProxyRequest,
    res: ProxyResponse,
    target: UpstreamTarget,
    passHostHeader: boolean,
    onFailure: ((kind: ForwardFailure) => void) | undefined,
  ) {
    this.req = req;
    this.res = res;
    this.target = target;
    this.passHostHeader = passHostHeader;
    this.onFailure = onFailure;
  }

  /** Gives up the upstream side now: the connection is destroyed, or the stream cancelled. */
  protected abstract abortUpstream(): void;

  /** Starts `responseHeaderTimeout` (0: none). */
  protected armHeaderTimeout(ms: number): void {
    if (ms > 0 && !this.finished) this.timer = setTimeout(onHeaderTimeout, ms, this);
  }

  /** The response head came: its timeout is over. */
  protected clearHeaderTimeout(): void {
    clearTimeout(this.timer);
  }

  /** The client's body failed (too large, malformed, cut): its status, or nothing when it is gone. */
  onBodyError(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.abortUpstream();
    const status = err instanceof ClientBodyError ? err.status : 400;
    if (status === 0) return;
    if (!this.res.headersSent) {
      this.res.closeConnection = true;
      sendStatus(this.res, status);
    } else this.res.destroy();
  }

  /** The client's response closed: completed (nothing to do) or aborted (the upstream side goes too). */
  onResponseClose(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.abortUpstream();
    if (!this.requestDone) this.req.body?.cancel();
  }

  protected fail(kind: ForwardFailure): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.abortUpstream();
    if (!this.requestDone) this.req.body?.cancel();
    this.onFailure?.(kind);
    if (this.responded || this.res.headersSent) this.res.destroy();
    else sendStatus(this.res, STATUS[kind]);
  }

  /** No response head within `responseHeaderTimeout`: 504 (an HTTP/1.1 connection is not reused). */
  headerTimedOut(): void {
    this.timer = undefined;
    if (this.finished || this.responded) return;
    this.timedOut = true;
    this.fail('timeout');
  }
}
