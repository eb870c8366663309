import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BerthError, ErrorCodes, errorMessage } from './errors.ts';

/**
 * Replaces `path` with `data` so that a crash at any moment leaves either the old file or the new
 * one, never a torn mix: write a temp file in the same directory, fsync it, rename it over the
 * target (atomic on POSIX), then fsync the directory so the rename itself is durable.
 *
 * On failure (disk full, permissions, EMFILE) the temp file is removed, the old file is untouched
 * and a `BerthError` with code `STORAGE` is thrown.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      // `mode` on open is filtered by the umask; set it explicitly so secrets stay 0600.
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
    await syncDirectory(dir);
  } catch (err) {
    if (!renamed) await unlink(tmp).catch(() => undefined);
    throw new BerthError(ErrorCodes.STORAGE, `cannot write ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

/** fsync of a directory makes a rename durable; some filesystems refuse it, which is harmless. */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // EISDIR/EINVAL on filesystems without directory fsync: the rename is still atomic.
  } finally {
    await fh?.close();
  }
}
