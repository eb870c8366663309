import { closeSync, mkdirSync, openSync, writev } from 'node:fs';
import { dirname } from 'node:path';
import { BerthError, ErrorCodes } from '../lib/errors.ts';

/*
 * The destinations of the line writers: a log file (with rotation) or standard output. Apart from
 * the buffering writer so the file-descriptor handling reads on its own.
 */

/** Where batches of lines go. */
export interface LineSink {
  /** Writes the chunks, in order; calls `done` when the bytes left the process (or failed). */
  write(chunks: readonly Uint8Array[], done: (err: Error | null) => void): void;
  close(): void;
  /** Opens the file again under its name (after log rotation); throws when it cannot. */
  reopen?(): void;
}

/**
 * Appends to a file opened once (mode 0664, parent directories created, as Traefik). `reopen`
 * follows a log rotation: later writes go to a file opened anew under the name, and the old
 * descriptor is closed once no write uses it.
 */
export function fileSink(path: string): LineSink {
  let fd = openLogFile(path);
  let closed = false;
  let busy = false;
  /** Descriptors swapped out while a write used them. */
  const retiring: number[] = [];
  return {
    write(chunks, done) {
      if (chunks.length === 0) {
        done(null);
        return;
      }
      // One writev per batch; a short write continues with what is left, on the same descriptor.
      const target = fd;
      busy = true;
      const finish = (err: Error | null): void => {
        busy = false;
        for (const old of retiring.splice(0)) closeQuietly(old);
        done(err);
      };
      const step = (list: readonly Uint8Array[]): void => {
        writev(target, list as Uint8Array[], null, (err, n) => {
          if (err) {
            finish(err);
            return;
          }
          const rest = skipBytes(list, n);
          if (rest.length > 0) step(rest);
          else finish(null);
        });
      };
      step(chunks);
    },
    reopen() {
      if (closed) return;
      const next = openLogFile(path);
      if (busy) retiring.push(fd);
      else closeQuietly(fd);
      fd = next;
    },
    close() {
      if (closed) return;
      closed = true;
      closeQuietly(fd);
    },
  };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already gone */
  }
}

/**
 * Opens a log file for appending (mode 0664, parent directories created, as Traefik); a typed
 * configuration error when it cannot be opened.
 */
function openLogFile(path: string): number {
  try {
    mkdirSync(dirname(path), { recursive: true });
    return openSync(path, 'a', 0o664);
  } catch (err) {
    throw new BerthError(
      ErrorCodes.CONFIG_INVALID,
      `accessLog.filePath: cannot open ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** The chunks after their first `n` bytes. */
export function skipBytes(chunks: readonly Uint8Array[], n: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const c of chunks) {
    if (n >= c.length) {
      n -= c.length;
      continue;
    }
    rest.push(n > 0 ? c.subarray(n) : c);
    n = 0;
  }
  return rest;
}

/** Standard output (the default when no `filePath` is set). */
export function stdoutSink(): LineSink {
  return {
    write(chunks, done) {
      if (chunks.length === 0) {
        done(null);
        return;
      }
      const out = process.stdout;
      out.cork();
      for (let i = 0; i < chunks.length - 1; i++) out.write(chunks[i]!);
      out.write(chunks[chunks.length - 1]!, (err) => done(err ?? null));
      out.uncork();
    },
    close() {
      /* stdout stays open */
    },
  };
}
