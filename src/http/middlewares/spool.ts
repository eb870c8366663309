import { close, openSync, createReadStream, unlink, write } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BufferBody, StreamBody } from '../../engine/body.ts';
import type { BodySource } from '../../engine/message.ts';

/**
 * A body held in memory up to `memLimit` bytes, then spilled to a temp file (mode 0600) in
 * `tmpDir`. `dispose()` always removes the file, whatever state the spool is in; callers hook it to
 * the response's `close`, which fires on completion and on abort alike.
 */
export class Spool {
  size = 0;
  private chunks: Buffer[] = [];
  private fd: number | undefined;
  private path: string | undefined;
  private pending: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  private disposed = false;
  private readonly memLimit: number;
  private readonly tmpDir: string;

  constructor(memLimit: number, tmpDir: string) {
    this.memLimit = memLimit;
    this.tmpDir = tmpDir;
  }

  /** Whether the body went to a file (tests and metrics). */
  get spilled(): boolean {
    return this.path !== undefined;
  }

  /** The temp file's path, while there is one. */
  get filePath(): string | undefined {
    return this.path;
  }

  /** Appends a chunk; returns a promise when the chunk went to disk (wait before sending more). */
  append(chunk: Buffer): Promise<void> | undefined {
    if (this.disposed) return undefined;
    this.size += chunk.length;
    if (this.fd === undefined && this.size <= this.memLimit) {
      this.chunks.push(chunk);
      return undefined;
    }
    if (this.fd === undefined) {
      this.path = join(this.tmpDir, `berth-buffer-${randomUUID()}`);
      try {
        this.fd = openSync(this.path, 'wx', 0o600);
      } catch (err) {
        this.failed = err as Error;
        this.path = undefined;
        return Promise.reject(err);
      }
      const first = Buffer.concat([...this.chunks, chunk]);
      this.chunks = [];
      return this.enqueue(first);
    }
    return this.enqueue(chunk);
  }

  private enqueue(buf: Buffer): Promise<void> {
    const fd = this.fd!;
    this.pending = this.pending.then(
      () =>
        new Promise<void>((resolve, reject) => {
          const step = (offset: number): void => {
            write(fd, buf, offset, buf.length - offset, null, (err, n) => {
              if (err) {
                this.failed = err;
                reject(err);
                return;
              }
              if (offset + n < buf.length) step(offset + n);
              else resolve();
            });
          };
          step(0);
        }),
    );
    return this.pending;
  }

  /** Resolves once every chunk is stored (rejects if the disk failed). */
  async finish(): Promise<void> {
    await this.pending;
    if (this.failed) throw this.failed;
  }

  /** A fresh stream of the whole body (call after `finish`). */
  open(): Readable {
    if (this.path !== undefined) return createReadStream(this.path);
    return Readable.from(this.chunks.length === 0 ? [] : [Buffer.concat(this.chunks)]);
  }

  /** A fresh request body of the whole spool (call after `finish`). */
  openBody(): BodySource {
    if (this.path !== undefined) return new StreamBody(createReadStream(this.path), this.size);
    return new BufferBody(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks));
  }

  /** The in-memory chunks (only when not spilled). */
  memory(): Buffer[] {
    return this.chunks;
  }

  /** Drops the body and removes the temp file; idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.chunks = [];
    const fd = this.fd;
    const path = this.path;
    this.fd = undefined;
    if (path === undefined) return;
    void this.pending
      .catch(() => undefined)
      .then(() => {
        if (fd !== undefined) close(fd, () => undefined);
        unlink(path, () => undefined);
      });
  }
}
