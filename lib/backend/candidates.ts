/**
 * The four backends lmc-lab can run on, each as data: the npm package that provides it, how
 * to switch tfjs to it, and how to describe the device it computes on.
 *
 * Native packages are loaded with require() inside the attempt, never imported, so that their
 * absence (the usual case: their install downloads libtensorflow) or a failing native load
 * (CUDA libraries missing) is an ordinary, recorded failure rather than a crash at import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { tf } from '../tf';
import { loadWasmModule, registerWasmKernels, WASM_PACKAGE } from './wasm-kernels';
import { registerCpuKernels } from './cpu-kernels';
import { describeConvolutions } from './native-addon';

import { BACKEND_NAMES, type BackendName } from '../settings';

/**
 * The backends (native TensorFlow on GPU or CPU, WebAssembly,
 * pure JS), in the order automatic selection tries them.
 */
export { BACKEND_NAMES, type BackendName };

/** Loads a package by name (require, or a stand-in for tests). */
export type PackageLoader = (pkg: string) => unknown;

/** What activating a backend found out about it. */
export interface Activation {
  tfBackend: string;
  device: string;
  package: string;
  version: string;
}

/** One backend: its package and how to make it tfjs's current backend. */
export interface Candidate {
  name: BackendName;
  package: string;
  /** Loads what is needed and switches tfjs to this backend; throws why it cannot. */
  activate(load: PackageLoader): Promise<Activation>;
}

/** Which native package registered tfjs's 'tensorflow' backend in this process, if any. */
let nativePackage: string | undefined;

/** The message of anything thrown, with "not installed" made explicit. */
export function reasonOf(err: unknown, pkg: string): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${pkg}'`)) {
    return `${pkg} is not installed`;
  }
  return String(e?.message ?? err).split('\n')[0];
}

/** The version in a package's package.json, or '' when it cannot be read. */
function packageVersion(load: PackageLoader, pkg: string): string {
  try {
    return String((load(`${pkg}/package.json`) as { version?: string }).version ?? '');
  } catch {
    return '';
  }
}

/** The GPU model names the NVIDIA driver reports, without running any program. */
function nvidiaGpuNames(): string[] {
  const root = '/proc/driver/nvidia/gpus';
  try {
    return readdirSync(root)
      .map((bus) => {
        const text = readFileSync(`${root}/${bus}/information`, 'utf8');
        return /^Model:\s*(.+)$/m.exec(text)?.[1].trim() ?? '';
      })
      .filter((name) => name !== '');
  } catch {
    return [];
  }
}

/** Loads one of the two tfjs-node packages and switches tfjs to the 'tensorflow' backend it registers. */
async function activateNative(load: PackageLoader, pkg: string, gpu: boolean): Promise<Activation> {
  if (nativePackage !== undefined && nativePackage !== pkg) {
    throw new Error(
      `${nativePackage} already provides the 'tensorflow' backend in this process, ` +
        `and one process can load only one of the two native packages; start a new process`,
    );
  }
  load(pkg);
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new Error(
      `${pkg} loaded but registered no 'tensorflow' backend with lmc-lab's ` +
        `@tensorflow/tfjs ${tf.version.tfjs}; it probably resolved another copy of @tensorflow/tfjs ` +
        `(check 'npm ls @tensorflow/tfjs' shows one version)`,
    );
  }
  nativePackage = pkg;
  if (!(await tf.setBackend('tensorflow'))) {
    throw new Error(`tf.setBackend('tensorflow') failed (see the warning printed above)`);
  }
  const usingGpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  let device = 'CPU (native TensorFlow)';
  if (gpu) {
    const names = nvidiaGpuNames();
    device = !usingGpu
      ? 'CPU (native TensorFlow; tfjs-node-gpu found no usable GPU)'
      : names.length > 0
        ? `GPU: ${names.join(', ')}`
        : 'GPU (CUDA)';
  }
  return { tfBackend: 'tensorflow', device, package: pkg, version: packageVersion(load, pkg) };
}

const gpu: Candidate = {
  name: 'gpu',
  package: '@tensorflow/tfjs-node-gpu',
  activate: (load) => activateNative(load, '@tensorflow/tfjs-node-gpu', true),
};

const tensorflow: Candidate = {
  name: 'tensorflow',
  package: '@tensorflow/tfjs-node',
  activate: (load) => activateNative(load, '@tensorflow/tfjs-node', false),
};

const wasm: Candidate = {
  name: 'wasm',
  package: WASM_PACKAGE,
  async activate() {
    // In Node the emscripten loader finds the .wasm files next to the package's own JS
    // (node_modules/@tensorflow/tfjs-backend-wasm/dist/), so setWasmPaths is not needed.
    const mod = loadWasmModule();
    registerWasmKernels();
    if (!(await tf.setBackend('wasm'))) {
      throw new Error(
        `tf.setBackend('wasm') failed (see the warning printed above); ` +
          `the .wasm files should be in node_modules/${WASM_PACKAGE}/dist/`,
      );
    }
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = mod.getThreadsCount();
    const device =
      `CPU (wasm, ${threads > 1 ? `${threads} threads` : 'single-threaded'}, ` +
      `${simd ? 'SIMD' : 'no SIMD'}; convolutions: ${describeConvolutions()})`;
    return { tfBackend: 'wasm', device, package: WASM_PACKAGE, version: mod.version_wasm };
  },
};

const cpu: Candidate = {
  name: 'cpu',
  package: '@tensorflow/tfjs-backend-cpu',
  async activate() {
    registerCpuKernels();
    if (!(await tf.setBackend('cpu'))) {
      throw new Error(`tf.setBackend('cpu') failed (see the warning printed above)`);
    }
    return {
      tfBackend: 'cpu',
      device: 'CPU (pure JavaScript)',
      package: '@tensorflow/tfjs-backend-cpu',
      version: tf.version['tfjs-backend-cpu'] ?? tf.version.tfjs,
    };
  },
};

/** The candidate for each backend name. */
export const CANDIDATES: Readonly<Record<BackendName, Candidate>> = { gpu, tensorflow, wasm, cpu };

/** How to get a backend that failed to load: the install command and what it needs. */
export function fixFor(name: BackendName): string {
  switch (name) {
    case 'gpu':
      return (
        'npm install @tensorflow/tfjs-node-gpu on Linux x64 with an NVIDIA GPU, CUDA 11.2 and ' +
        'cuDNN 8.1 (conda env create -f environment.yml provides both); its install downloads ' +
        'libtensorflow, so it needs network access'
      );
    case 'tensorflow':
      return 'npm install @tensorflow/tfjs-node (its install downloads libtensorflow, so it needs ' + 'network access)';
    case 'wasm':
      return `npm install ${WASM_PACKAGE}@${tf.version.tfjs} (the same version as @tensorflow/tfjs)`;
    case 'cpu':
      return `reinstall @tensorflow/tfjs@${tf.version.tfjs}, which bundles the cpu backend`;
  }
}
