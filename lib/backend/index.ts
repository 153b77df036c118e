/**
 * Choosing the TensorFlow.js backend lmc-lab computes on.
 *
 * `await initBackend()` picks the fastest one available: native TensorFlow on GPU
 * (@tensorflow/tfjs-node-gpu), native TensorFlow on CPU (@tensorflow/tfjs-node), WebAssembly,
 * then pure JavaScript. LMC_BACKEND (or the argument) forces one, and then its absence is an
 * error that says how to install it rather than a silent fallback. `backendInfo()` reports
 * what was chosen and why the faster ones were skipped; `describeBackend` prints it in one line.
 */
import { tf } from '../tf';
import { readSetting, SETTINGS } from '../settings';
import { Activation, BACKEND_NAMES, BackendName, CANDIDATES, fixFor, PackageLoader, reasonOf } from './candidates';

export { BACKEND_NAMES } from './candidates';
export type { BackendName } from './candidates';
export { describeConvolutions } from './native-addon';

const BACKEND_ENV_VAR = SETTINGS.backend.name;

/** One backend that initBackend tried, whether it worked, and why not. */
export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason?: string;
}

/** The backend lmc-lab is computing on, and how it got there. */
export interface BackendInfo {
  /** lmc-lab's name for it. */
  name: BackendName;
  /** tfjs's name for it (tf.getBackend()): 'tensorflow' for both native packages. */
  tfBackend: string;
  /**
   * What computes, e.g. 'CPU (wasm, single-threaded, SIMD; convolutions: oneDNN 2.6.3 native,
   * 1 thread)' or 'GPU: NVIDIA H100 80GB HBM3'.
   */
  device: string;
  /** The npm package that provides it. */
  package: string;
  version: string;
  /** The backends tried, in order, ending with the one chosen. */
  tried: BackendAttempt[];
}

/** Knobs for tests and embedders; ordinary callers pass none. */
export interface InitBackendOptions {
  /** Where LMC_BACKEND is read from (default process.env). */
  env?: Record<string, string | undefined>;
  /** How packages are loaded (default require). */
  load?: PackageLoader;
}

/** What the caller asked for and where it came from, for the cache key and error messages. */
interface Request {
  forced?: BackendName;
  source: string;
}

/** Every backend activated so far, by name: switching back to one is instant. */
const activated = new Map<BackendName, Activation>();
/** The result (or the pending attempt) for each request, so repeated calls are idempotent. */
const results = new Map<string, Promise<BackendInfo>>();
let current: BackendInfo | undefined;

// eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional package, by name
const defaultLoad: PackageLoader = (pkg) => require(pkg);

/** Which backend is being asked for: the argument, else LMC_BACKEND, else automatic. */
function readRequest(preference: BackendName | undefined, env: Record<string, string | undefined>): Request {
  if (preference !== undefined) {
    if (!BACKEND_NAMES.includes(preference)) {
      throw new Error(`initBackend('${preference}'): unknown backend; use one of ${BACKEND_NAMES.join(', ')}`);
    }
    return { forced: preference, source: `initBackend('${preference}')` };
  }
  const value = readSetting('backend', env);
  if (value === undefined) return { source: 'automatic selection' };
  return { forced: value, source: `${BACKEND_ENV_VAR}=${value}` };
}

/**
 * TFJS's pure-JS backend prints "Hi, looks like you are running TensorFlow.js in Node.js ...
 * install our node backend" on its first tensor. lmc-lab already says which backend it chose
 * and why (describeBackend), so that notice is switched off at its source, a per-instance
 * first-use flag, instead of through the PROD flag, which would also hide real warnings.
 */
function silenceNodeBackendNotice(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu != null && cpu.firstUse === true) cpu.firstUse = false;
}

/** Switches tfjs to `name`, loading it the first time; throws why it cannot. */
async function activate(name: BackendName, load: PackageLoader): Promise<Activation> {
  const known = activated.get(name);
  if (known !== undefined) {
    if (tf.getBackend() !== known.tfBackend && !(await tf.setBackend(known.tfBackend))) {
      throw new Error(`tf.setBackend('${known.tfBackend}') failed although it worked before`);
    }
    return known;
  }
  const activation = await withoutNewProcessHandlers(() => CANDIDATES[name].activate(load));
  activated.set(name, activation);
  return activation;
}

const PROCESS_ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Runs `start`, then removes the process-level error listeners it added. The wasm backend's
 * emscripten runtime installs listeners that rethrow every uncaught exception and unhandled
 * rejection, which ends a long-lived host (the Jupyter kernel, a worker) at the first stray
 * promise of a user's code; without them Node's own default applies, or the host's listeners.
 */
async function withoutNewProcessHandlers<T>(start: () => Promise<T>): Promise<T> {
  type Listener = (...args: unknown[]) => void;
  const listeners = (event: string) => process.listeners(event as 'exit') as Listener[];
  const before = new Map(PROCESS_ERROR_EVENTS.map((event) => [event, new Set(listeners(event))]));
  try {
    return await start();
  } finally {
    for (const event of PROCESS_ERROR_EVENTS) {
      for (const listener of listeners(event))
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
}

/** Tries the requested backend, or each in order, and returns what was chosen. */
async function choose(request: Request, load: PackageLoader): Promise<BackendInfo> {
  silenceNodeBackendNotice();
  const names = request.forced !== undefined ? [request.forced] : BACKEND_NAMES;
  const tried: BackendAttempt[] = [];
  for (const name of names) {
    try {
      const a = await activate(name, load);
      tried.push({ name, ok: true });
      return { name, tfBackend: a.tfBackend, device: a.device, package: a.package, version: a.version, tried };
    } catch (err) {
      const reason = reasonOf(err, CANDIDATES[name].package);
      tried.push({ name, ok: false, reason });
      if (request.forced !== undefined) {
        throw new Error(
          `lmc-lab backend '${name}' was requested (${request.source}) but is ` +
            `unavailable: it needs ${CANDIDATES[name].package}, which failed: ${reason}. ` +
            `Fix: ${fixFor(name)}; or unset ${BACKEND_ENV_VAR} (and pass no backend) to use the ` +
            `fastest available one.`,
        );
      }
    }
  }
  // Unreachable in practice: the cpu backend ships inside @tensorflow/tfjs.
  throw new Error(
    `lmc-lab: no TensorFlow.js backend could be started: ` + tried.map((t) => `${t.name}: ${t.reason}`).join('; '),
  );
}

/**
 * Picks and starts the backend: `preference`, else LMC_BACKEND, else the fastest available
 * (gpu > tensorflow > wasm > cpu). Calling it again with the same choice returns the same info.
 */
export async function initBackend(preference?: BackendName, options: InitBackendOptions = {}): Promise<BackendInfo> {
  const request = readRequest(preference, options.env ?? process.env);
  const key = request.forced ?? 'auto';
  let result = results.get(key);
  if (result === undefined) {
    result = choose(request, options.load ?? defaultLoad);
    results.set(key, result);
    // A failed attempt is not cached: the user may install the package and try again.
    result.catch(() => results.delete(key));
  }
  const info = await result;
  // Someone may have switched backends since (tf.setBackend or another initBackend choice).
  if (tf.getBackend() !== info.tfBackend) await activate(info.name, options.load ?? defaultLoad);
  current = info;
  return info;
}

/** The backend lmc-lab is computing on now: name, device, package, version, and what was tried. */
export function backendInfo(): BackendInfo {
  const tfBackend = tf.engine().backendName;
  if (current !== undefined && current.tfBackend === tfBackend) return current;
  // tfjs was switched directly (tf.setBackend): describe what is active if lmc-lab started it.
  for (const [name, a] of activated) {
    if (a.tfBackend === tfBackend) return { name, ...a, tried: [{ name, ok: true }] };
  }
  throw new Error(
    tfBackend == null
      ? 'lmc-lab: no backend has been started yet; call `await initBackend()` first'
      : `lmc-lab: the active tfjs backend '${tfBackend}' was not started by initBackend; ` +
          `call \`await initBackend()\` (or set ${BACKEND_ENV_VAR}) to start one lmc-lab knows`,
  );
}

/** One line for the CLI and notebooks, e.g. "backend wasm: CPU (wasm, ...) via ... (skipped gpu: ...)". */
export function describeBackend(info: BackendInfo): string {
  const skipped = info.tried.filter((t) => !t.ok).map((t) => `${t.name}: ${t.reason}`);
  const version = info.version === '' ? '' : `@${info.version}`;
  return (
    `backend ${info.name}: ${info.device} via ${info.package}${version}` +
    (skipped.length > 0 ? ` (skipped ${skipped.join('; ')})` : '')
  );
}
