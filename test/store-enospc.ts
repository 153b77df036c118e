/**
 * Preloaded (`node -r`) into store test children to simulate a disk that fills up: after
 * LMC_TEST_WRITE_BUDGET bytes, a write stores what still fits and fails with ENOSPC, as write(2)
 * does. Every store write goes through a FileHandle from fs/promises, which is what is wrapped.
 * With LMC_TEST_WRITE_COUNT=<file>, the total bytes written are saved there at exit (to size budgets).
 */
import fsp = require('node:fs/promises');
import { writeFileSync } from 'node:fs';

const budget = Number(process.env.LMC_TEST_WRITE_BUDGET ?? Infinity);
let written = 0;

function noSpace(): NodeJS.ErrnoException {
  const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
  e.code = 'ENOSPC';
  e.errno = -28;
  e.syscall = 'write';
  return e;
}

const realOpen = fsp.open;
(fsp as { open: typeof fsp.open }).open = async function open(...args: Parameters<typeof fsp.open>) {
  const handle = await realOpen(...args);
  const realWriteFile = handle.writeFile.bind(handle);
  handle.writeFile = async (data: unknown, options?: unknown) => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data as Uint8Array);
    const room = Math.max(0, budget - written);
    if (bytes.length > room) {
      written += room;
      if (room > 0) await realWriteFile(bytes.subarray(0, room));
      throw noSpace();
    }
    written += bytes.length;
    return realWriteFile(bytes, options as undefined);
  };
  return handle;
} as typeof fsp.open;

if (process.env.LMC_TEST_WRITE_COUNT) {
  const file = process.env.LMC_TEST_WRITE_COUNT;
  process.on('exit', () => writeFileSync(file, String(written)));
}
