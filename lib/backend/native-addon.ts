/**
 * The optional oneDNN addon (native/dnnl, npm package @lmc-lab/dnnl): whether it loaded, why
 * not, and how many threads it computes with.
 *
 * It is an optionalDependency built at install time against Debian's libdnnl-dev; where the
 * library or a compiler is missing npm drops it and lmc-lab keeps its wasm convolutions.
 * LMC_NATIVE=0 turns it off (for comparisons); LMC_NATIVE_THREADS sets its OpenMP team size.
 */
import * as path from 'node:path';
import { settingOrDefault } from '../settings';

/** The addon's interface (native/dnnl/src/addon.cc). */
export interface DnnlAddon {
  /** oneDNN's version, e.g. '2.6.3'. */
  readonly version: string;
  /** The threading runtime Debian's libdnnl was built with. */
  readonly runtime: string;
  /** Cores OpenMP sees. */
  readonly cores: number;
  /**
   * out = kind(a, b) on float32 buffers at byte offsets of `memory`, described by the forward
   * convolution `geometry` (see geometryOf): kind 0 (x, w) -> y; 1 (dy, w) -> dx; 2 (x, dy) -> dw.
   */
  run(kind: 0 | 1 | 2, memory: ArrayBufferLike, geometry: Int32Array, a: number, b: number, out: number): void;
  /** oneDNN's name for the implementation it picks for a call, e.g. 'brg:avx512_core'. */
  implementation(kind: 0 | 1 | 2, geometry: Int32Array): string;
  setThreads(threads: number): void;
  threads(): number;
  /** Primitives cached (one per kind and shape). */
  cached(): number;
  clear(): void;
}

/** The npm package that provides the addon. */
export const DNNL_PACKAGE = '@lmc-lab/dnnl';

/** The addon, or why there is none; settled on first use. */
let loaded: { addon: DnnlAddon } | { reason: string } | undefined;

/** The first line of a load error, with the common causes said plainly. */
function loadFailure(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = String(e?.message ?? err).split('\n')[0];
  if (e?.code === 'MODULE_NOT_FOUND') {
    return (
      `native addon not built: ${DNNL_PACKAGE} is not installed; npm install builds it where ` +
      `libdnnl-dev and g++ are present`
    );
  }
  return `native addon failed to load: ${message}`;
}

/** Requires the installed package, else a build inside this checkout (native/dnnl/build). */
function requireAddon(): DnnlAddon {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(DNNL_PACKAGE) as DnnlAddon;
  } catch (err) {
    if (
      (err as { code?: string }).code !== 'MODULE_NOT_FOUND' ||
      !String((err as Error).message).includes(DNNL_PACKAGE)
    )
      throw err;
    // dist/lib/backend -> the checkout root: `npx node-gyp rebuild` in native/dnnl works without npm install.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.resolve(__dirname, '..', '..', '..', 'native', 'dnnl')) as DnnlAddon;
  }
}

/**
 * The addon with its thread count set, or the one-line reason it is not used (turned off by
 * LMC_NATIVE=0, not installed, or failing to load). Loads once per process (per worker thread).
 */
export function nativeAddon(
  env: Record<string, string | undefined> = process.env,
): { addon: DnnlAddon } | { reason: string } {
  if (loaded !== undefined) return loaded;
  if (settingOrDefault('native', env) === 'off') {
    loaded = { reason: `native convolutions turned off by LMC_NATIVE=${env.LMC_NATIVE?.trim()}` };
    return loaded;
  }
  // Read before loading: a malformed value is the user's error to see, not a reason to run without the addon.
  const threads = settingOrDefault('nativeThreads', env);
  try {
    const addon = requireAddon();
    addon.setThreads(threads);
    loaded = { addon };
  } catch (err) {
    loaded = { reason: loadFailure(err) };
  }
  return loaded;
}

/** What computes convolutions, for backendInfo().device: 'oneDNN 2.6.3 native, 1 thread' or 'wasm (<why>)'. */
export function describeConvolutions(): string {
  const n = nativeAddon();
  if ('reason' in n) return `wasm (${n.reason})`;
  const threads = n.addon.threads();
  return `oneDNN ${n.addon.version} native, ${threads} ${threads === 1 ? 'thread' : 'threads'}`;
}
