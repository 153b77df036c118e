/**
 * The init cell: TypeScript that the kernel runs through tslab's normal compiler before it
 * serves, so that every later cell sees its imports with their types, exactly as if the user had
 * written them. Paths are absolute, so the notebook's folder does not matter.
 *
 * In scope afterwards:
 * - `lmc`: the library (dist/lib), including `lmc.interruptSignal()`;
 * - `tf`: the TensorFlow.js instance the library uses (a namespace: `tf.Tensor` works as a type);
 * - `aq`: arquero;
 * - `tslab`: tslab's display API;
 * - `display(value)`, `newDisplayHandle()`, `clearOutput()`: see kernel/runtime.ts.
 */
import * as path from 'node:path';

/** Where the compiled library, the kernel runtime and arquero are. */
export interface InitPaths {
  /** The compiled library folder (dist/lib). */
  library: string;
  /** The compiled kernel/runtime module, without extension. */
  runtime: string;
  /** arquero's package folder. */
  arquero: string;
}

/** The paths for the build this module is part of (dist/kernel -> dist/lib). */
export function defaultInitPaths(): InitPaths {
  const library = path.resolve(__dirname, '..', 'lib');
  return {
    library,
    runtime: path.join(__dirname, 'runtime'),
    // Resolved from the library, so that `aq` is the arquero the library's tables come from.
    arquero: path.dirname(require.resolve('arquero/package.json', { paths: [library] })),
  };
}

/** The import cell: lmc, tf, aq, tslab and the display functions. */
export function importCell(paths: InitPaths): string {
  const at = (p: string) => JSON.stringify(p.split(path.sep).join('/'));
  return [
    `import * as lmc from ${at(paths.library)};`,
    `import { tf } from ${at(paths.library)};`,
    `import * as aq from ${at(paths.arquero)};`,
    `import * as tslab from "tslab";`,
    `import { display, newDisplayHandle, clearOutput } from ${at(paths.runtime)};`,
  ].join('\n');
}

/**
 * The backend cell: starts the fastest backend now, so the first
 * training cell does not pay for it; its value is the banner line.
 */
export const BACKEND_CELL = 'lmc.backend.describeBackend(await lmc.initBackend())';
