#!/usr/bin/env node
/**
 * The lmc-lab Jupyter kernel: `node dist/kernel/launcher.js <connection-file>` (the kernelspec's
 * argv, written by `lmc kernel install`).
 *
 * It builds what `tslab kernel` builds (a converter set, tslab's executor, a handler, a ZeroMQ
 * server) from tslab's dist/ modules, with our handler and server subclasses in place of
 * tslab's; runs the init cell (kernel/init-cell.ts) through the executor, so later cells see
 * `lmc`, `tf`, `aq`, `tslab`, `display` and `clearOutput` with their types; and only then binds
 * the sockets. SIGINT (interrupt_mode "signal") interrupts the running cell cooperatively; the
 * watchdog (kernel/watchdog.ts) stops a cell that holds the thread through it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createConverter, type Converter } from 'tslab/dist/converter';
import type { ConverterSet } from 'tslab/dist/executor';
import { kernelLog, LmcJupyterHandler } from './handler';
import { BACKEND_CELL, defaultInitPaths, importCell, type InitPaths } from './init-cell';
import { LmcKernelServer } from './server';
import { Watchdog } from './watchdog';
import { Signer } from './wire';
import { ts } from './cell-lines';

/** Options of `startKernel`. */
export interface KernelOptions {
  connectionFile: string;
  /** Where the library and runtime are (default: next to this file, in the same build). */
  paths?: InitPaths;
}

/**
 * Node converter now; the browser one (for `/** @browser *\/` cells) only when a cell asks. Each
 * compiles under `guard` (the watchdog never stops the compiler mid-way).
 */
function converterSet(guard: <T>(compile: () => T) => T): ConverterSet {
  let node: Converter | undefined;
  let browser: Converter | undefined;
  const guarded = (c: Converter): Converter => {
    const convert = c.convert.bind(c);
    c.convert = (prevDecl, src) => guard(() => convert(prevDecl, src));
    return c;
  };
  return {
    get node() {
      return (node ??= guarded(createConverter({ isJS: false, isBrowser: false })));
    },
    get browser() {
      return (browser ??= guarded(createConverter({ isJS: false, isBrowser: true })));
    },
    close() {
      node?.close();
      browser?.close();
    },
  };
}

function readSigner(connectionFile: string): Signer {
  let info: { key?: unknown; signature_scheme?: unknown };
  try {
    info = JSON.parse(fs.readFileSync(connectionFile, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the connection file ${connectionFile}: ${(err as Error).message}`);
  }
  const key = typeof info.key === 'string' ? info.key : '';
  if (key === '')
    kernelLog(
      'the connection file has no key: messages are not authenticated (anyone who can reach the ports can run code)',
    );
  return new Signer(key, typeof info.signature_scheme === 'string' ? info.signature_scheme : 'hmac-sha256');
}

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

/** Starts a kernel on `connectionFile`; resolves once it serves. */
export async function startKernel(options: KernelOptions): Promise<LmcKernelServer> {
  const signer = readSigner(options.connectionFile);
  const version = packageVersion();
  const description = {
    implementationVersion: version,
    banner:
      `lmc-lab ${version}: TypeScript ${ts.version} (tslab ${require('tslab/package.json').version}) on Node ` +
      `${process.version}`,
  };
  let server: LmcKernelServer | undefined;
  // Termination can only follow a cell's start, long after `handler` exists.
  const watchdog = new Watchdog(() => {
    server?.resetSendChains();
    handler.onTerminated();
  }, kernelLog);
  const handler = new LmcJupyterHandler(
    converterSet((compile) => watchdog.compiling(compile)),
    process.cwd(),
    description,
  );
  handler.watch = watchdog;

  const imports = await handler.runInit(importCell(options.paths ?? defaultInitPaths()));
  if ('ename' in imports) {
    // Serve anyway: a kernel that dies at start only shows "restarting"
    // in the frontend; this way the log and the banner say why.
    const why = `the init cell failed, so lmc, tf and aq are not in scope: ${imports.evalue}`;
    kernelLog(`${why}\n${imports.traceback.join('\n')}`);
    description.banner += `\n${why}. Is the library built (npm run build)?`;
  } else {
    const backend = await handler.runInit(BACKEND_CELL);
    const line = 'ename' in backend ? `no backend: ${backend.evalue}` : String(backend.value);
    description.banner += `\n${line}\nIn scope: lmc, tf, aq, tslab, display(value), newDisplayHandle(), clearOutput()`;
  }

  server = new LmcKernelServer(handler, options.connectionFile, signer);
  process.on('SIGINT', () => handler.interrupt());
  // A rejection nobody awaited or an exception from a timer must not end the kernel: report it in a cell.
  process.on('unhandledRejection', (reason) => handler.reportAsyncError(reason, 'unhandledRejection'));
  process.on('uncaughtException', (err) => handler.reportAsyncError(err, 'uncaughtException'));
  await server.init();
  kernelLog(`serving ${options.connectionFile}`);
  return server;
}

/**
 * Ends the kernel when the process that started it (Jupyter, nbconvert) is gone, as ipykernel's
 * parent poller does: an orphaned kernel would otherwise keep training, holding a core and the
 * store units it computes, long after anyone can see it. jupyter_client names the parent in
 * JPY_PARENT_PID; without it (or when it is 1, which never goes away) nothing is watched.
 * Checked every `everyMs`; the timer never keeps the process alive by itself.
 */
export function exitWithParent(
  everyMs = 2000,
  exit: (code: number) => void = (code) => process.exit(code),
): NodeJS.Timeout | null {
  const parent = Number(process.env.JPY_PARENT_PID);
  if (!Number.isSafeInteger(parent) || parent <= 1) return null;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      kernelLog(`parent process ${parent} is gone; exiting`);
      clearInterval(timer);
      exit(0);
    }
  }, everyMs);
  timer.unref();
  return timer;
}

/** `launcher.js [--connection-file] <file>`. */
function main(argv: string[]): void {
  const args = argv.filter((a) => a !== '--connection-file' && a !== '-f');
  if (args.length !== 1) {
    console.error(
      'usage: node launcher.js <connection-file>   (Jupyter passes {connection_file}; ' +
        'install with `lmc kernel install`)',
    );
    process.exit(2);
  }
  exitWithParent();
  startKernel({ connectionFile: path.resolve(args[0]) }).catch((err: Error) => {
    kernelLog(`failed to start: ${err.stack ?? err.message}`);
    process.exit(1);
  });
}

if (require.main === module) main(process.argv.slice(2));
