/**
 * Crash-safe file replacement. A reader (or a resumed run after a crash or power loss) must see
 * either the complete old file or the complete new one, never a torn mix: the store trusts any
 * file it finds in place. So we write a temporary file in the same directory (rename is only
 * atomic within one file system), fsync it so its bytes are durable before its name is, rename it
 * over the target, then fsync the directory so the rename itself survives a power loss.
 */
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

/** Replaces `file` with `bytes` atomically: the file holds either its old or its new content, never a part. */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  // Leading dot keeps the temp file out of casual listings; pid + random keeps concurrent writers
  // (two processes resuming the same run) from clobbering each other's temp file.
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(temp, 'wx');
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(temp, file);
  } catch (e) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.rm(temp, { force: true }).catch(() => undefined);
    throw new Error(`${file}: atomic write failed (${(e as Error).message}); the previous file, if any, is unchanged`, {
      cause: e,
    });
  }
  await syncDirectory(dir);
}

/** Flushes a directory entry table so that a rename into it is durable. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Windows cannot open or fsync a directory; the rename is still atomic there, only its
    // durability across a power loss is weaker, which is no reason to fail the write.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e;
  } finally {
    await handle?.close();
  }
}
