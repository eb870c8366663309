import type { ContainerView } from '../../config/labels/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import { Backoff } from '../../lib/backoff.ts';
import type { DockerClient } from './docker-client.ts';
import { toContainerView } from './container-view.ts';

/** The connection state of one daemon, as `/health` shows it. */
export type DaemonStatus = 'starting' | 'ok' | 'down';

/** What a {@link DaemonWatcher} reports to its owner. Calls for a stale connection never happen. */
export interface DaemonWatcherListener {
  /** The complete set of containers (running or not), after every (re)connect. */
  sync(daemon: string, views: readonly ContainerView[]): void;
  /** One container was created, started, stopped or changed. */
  upsert(daemon: string, view: ContainerView): void;
  /** One container was removed. */
  remove(daemon: string, containerId: string): void;
  /** The connection state changed (`error` set while down). */
  state(daemon: string, status: DaemonStatus, error?: string): void;
}

/** Options of a {@link DaemonWatcher}. */
export interface DaemonWatcherOptions {
  /** Time limit for connecting and for list/inspect calls (the events stream itself has none). */
  readonly requestTimeoutMs?: number;
  readonly backoff?: Backoff;
}

/**
 * Container event actions that can change what a container routes or claims (`create`: a container
 * replacing its owner during a deploy takes over the owner's claims). `exec_*` and the like are noise.
 */
const RELEVANT = /^(create|start|restart|die|stop|kill|destroy|rename|update|pause|unpause|oom|health_status)/;

/**
 * Follows one Docker daemon: lists and inspects its running containers, then follows its events
 * stream and re-inspects only the container an event names. Every (re)connect starts with a full
 * resync; failures reconnect with capped exponential backoff, forever. Events that arrive while a
 * resync is in flight are queued and applied after it, so a resync never overwrites a newer state.
 */
export class DaemonWatcher {
  readonly id: string;
  private readonly client: DockerClient;
  private readonly listener: DaemonWatcherListener;
  private readonly backoff: Backoff;
  private readonly requestTimeoutMs: number;
  private status: DaemonStatus = 'starting';
  private stopped = false;
  /** Incremented per connection; results of an older connection are dropped. */
  private session = 0;
  private abort: AbortController | undefined;
  private stream: NodeJS.ReadableStream | undefined;
  private wakeSleep: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private syncing = true;
  private flushing = false;
  private readonly dirty = new Map<string, 'inspect' | 'destroy'>();
  private lastEventAt: number | undefined;

  constructor(id: string, client: DockerClient, listener: DaemonWatcherListener, opts: DaemonWatcherOptions = {}) {
    this.id = id;
    this.client = client;
    this.listener = listener;
    this.backoff = opts.backoff ?? new Backoff(100, 10_000);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /** Epoch ms of the last container event received. */
  get lastEvent(): number | undefined {
    return this.lastEventAt;
  }

  get currentStatus(): DaemonStatus {
    return this.status;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Retries now instead of waiting out the backoff (e.g. the socket file reappeared). */
  wake(): void {
    this.wakeSleep?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wakeSleep?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const ac = new AbortController();
      this.abort = ac;
      try {
        await this.connect(ac);
        if (!this.stopped) this.setState('down', 'events stream closed by the daemon');
      } catch (err) {
        if (!this.stopped)
          this.setState('down', this.status === 'ok' ? `connection lost: ${errorMessage(err)}` : errorMessage(err));
      }
      ac.abort();
      this.stream = undefined;
      if (this.stopped) break;
      await this.sleep(this.backoff.next());
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    }).finally(() => {
      this.wakeSleep = undefined;
    });
  }

  /** One connection: open events, resync, then apply events until the stream ends. */
  private async connect(ac: AbortController): Promise<void> {
    const session = ++this.session;
    this.syncing = true;
    this.dirty.clear();
    const signal = ac.signal;
    const connectTimer = setTimeout(
      () => ac.abort(new Error(`no answer within ${this.requestTimeoutMs} ms`)),
      this.requestTimeoutMs,
    );
    let stream: NodeJS.ReadableStream;
    try {
      // Events first, then the list: anything that changes after the list is in the stream.
      stream = await this.client.events(signal);
    } finally {
      clearTimeout(connectTimer);
    }
    this.stream = stream;
    const ended = new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.on('error', reject); // stays attached: a second 'error' must not become an uncaught exception
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    let buffered = '';
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.onEventLine(line, session, signal);
      }
      if (buffered.length > 1 << 20) buffered = ''; // a garbage stream never grows memory without bound
    });

    const list = await this.client.list(this.withTimeout(signal));
    const sorted = [...list].sort((a, b) => (a.Created ?? 0) - (b.Created ?? 0));
    const views = await Promise.all(sorted.map((c) => this.inspect(c.Id, signal)));
    if (session !== this.session || this.stopped) return;
    this.listener.sync(
      this.id,
      views.filter((v): v is ContainerView => v !== undefined),
    );
    this.syncing = false;
    this.backoff.reset();
    this.setState('ok');
    void this.flush(session, signal);
    await ended;
  }

  private onEventLine(line: string, session: number, signal: AbortSignal): void {
    let ev: { Type?: string; Action?: string; status?: string; id?: string; Actor?: { ID?: string } };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      return;
    }
    if (ev === null || typeof ev !== 'object' || (ev.Type && ev.Type !== 'container')) return;
    const action = String(ev.Action ?? ev.status ?? '');
    const id = ev.Actor?.ID ?? ev.id;
    if (typeof id !== 'string' || !id || !RELEVANT.test(action)) return;
    this.lastEventAt = Date.now();
    this.dirty.set(id, action === 'destroy' ? 'destroy' : 'inspect');
    void this.flush(session, signal);
  }

  /** Applies queued events; inspects run in parallel, batches repeat until the queue is empty. */
  private async flush(session: number, signal: AbortSignal): Promise<void> {
    if (this.syncing || this.flushing) return;
    this.flushing = true;
    try {
      while (this.dirty.size > 0 && !this.syncing && session === this.session) {
        const batch = [...this.dirty];
        this.dirty.clear();
        const results = await Promise.all(
          batch.map(
            async ([id, action]) => [id, action === 'destroy' ? undefined : await this.inspect(id, signal)] as const,
          ),
        );
        if (session !== this.session || this.stopped) return;
        for (const [id, view] of results) {
          if (view) this.listener.upsert(this.id, view);
          else this.listener.remove(this.id, id);
        }
      }
    } catch (err) {
      // An inspect that fails for another reason than 404: reconnect, the resync repairs everything.
      if (session === this.session)
        (this.stream as unknown as { destroy?: (e: Error) => void } | undefined)?.destroy?.(err as Error);
    } finally {
      this.flushing = false;
    }
  }

  /** Inspects a container; undefined when it is gone. */
  private async inspect(id: string, signal: AbortSignal): Promise<ContainerView | undefined> {
    try {
      return toContainerView(await this.client.inspect(id, this.withTimeout(signal)), this.id);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  private withTimeout(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.requestTimeoutMs)]);
  }

  private setState(status: DaemonStatus, error?: string): void {
    if (status === this.status) return;
    this.status = status;
    this.listener.state(this.id, status, error);
  }
}
