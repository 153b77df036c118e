/**
 * Backend selection: LMC_BACKEND forcing, automatic fall-through with recorded reasons, clear
 * errors for unavailable or unknown backends, idempotence, switching within one process, and
 * no "install our node backend" notice from tfjs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { registerWasmKernels } from '../lib/backend/wasm-kernels';
import { backendInfo, describeBackend, initBackend } from '../lib/backend';

// Installed before anything touches tfjs's cpu backend, whose notice fires on first use.
const warnings: string[] = [];
const originalWarn = console.warn;
console.warn = (...args: unknown[]) => {
  warnings.push(args.map(String).join(' '));
  originalWarn(...args);
};
after(() => {
  console.warn = originalWarn;
});

/** Whether a package can be resolved here (the native ones normally cannot). */
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

const NATIVE = { gpu: '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' } as const;

test('automatic selection falls through failed native loads, recording why', async () => {
  // A stand-in loader: the GPU package fails as it does without CUDA; the CPU one is absent.
  const load = (pkg: string): unknown => {
    if (pkg === NATIVE.gpu)
      throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
    if (pkg === NATIVE.tensorflow) {
      throw Object.assign(new Error(`Cannot find module '${pkg}'`), { code: 'MODULE_NOT_FOUND' });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the loader's own contract: a package by name
    return require(pkg);
  };
  const info = await initBackend(undefined, { env: {}, load });
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(
    info.tried.map((t) => [t.name, t.ok]),
    [
      ['gpu', false],
      ['tensorflow', false],
      ['wasm', true],
    ],
  );
  assert.match(info.tried[0].reason ?? '', /libcudart\.so\.11\.0/);
  assert.equal(info.tried[1].reason, `${NATIVE.tensorflow} is not installed`);
  assert.match(
    info.device,
    new RegExp(
      /^CPU \(wasm, single-threaded, (SIMD|no SIMD); /.source +
        /convolutions: (oneDNN [0-9.]+ native, [0-9]+ threads?|wasm \(.+\))\)$/.source,
    ),
  );
  assert.equal(info.package, '@tensorflow/tfjs-backend-wasm');
  assert.equal(info.version, tf.version.tfjs);

  const line = describeBackend(info);
  assert.ok(!line.includes('\n'), 'one line');
  assert.match(
    line,
    /^backend wasm: CPU \(wasm, .*\) via @tensorflow\/tfjs-backend-wasm@4\.\d+\.\d+ \(skipped gpu: libcudart/,
  );
  assert.match(line, /tensorflow: @tensorflow\/tfjs-node is not installed\)$/);
});

test('LMC_BACKEND=cpu and LMC_BACKEND=wasm force those backends', async () => {
  const cpu = await initBackend(undefined, { env: { LMC_BACKEND: 'cpu' } });
  assert.equal(cpu.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(cpu.device, 'CPU (pure JavaScript)');
  assert.deepEqual(cpu.tried, [{ name: 'cpu', ok: true }]);
  assert.equal(
    tf.tidy(() => tf.sum(tf.tensor([1, 2, 3])).dataSync()[0]),
    6,
  );

  const wasm = await initBackend(undefined, { env: { LMC_BACKEND: ' WASM ' } });
  assert.equal(wasm.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(
    tf.tidy(() => tf.sum(tf.tensor([1, 2, 3])).dataSync()[0]),
    6,
  );
});

test('LMC_BACKEND is read from process.env by default', async () => {
  const saved = process.env.LMC_BACKEND;
  process.env.LMC_BACKEND = 'cpu';
  try {
    assert.equal((await initBackend()).name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  } finally {
    if (saved === undefined) delete process.env.LMC_BACKEND;
    else process.env.LMC_BACKEND = saved;
  }
});

for (const name of ['gpu', 'tensorflow'] as const) {
  test(
    `forcing '${name}' without ${NATIVE[name]} throws an error that says what to do`,
    { skip: installed(NATIVE[name]) ? `${NATIVE[name]} is installed here` : false },
    async () => {
      await initBackend('cpu');
      await assert.rejects(initBackend(undefined, { env: { LMC_BACKEND: name } }), (err: Error) => {
        assert.match(err.message, new RegExp(`backend '${name}' was requested \\(LMC_BACKEND=${name}\\)`));
        assert.ok(err.message.includes(`${NATIVE[name]} is not installed`), err.message);
        assert.ok(err.message.includes(`npm install ${NATIVE[name]}`), err.message);
        if (name === 'gpu') assert.match(err.message, /CUDA 11\.2.*cuDNN 8\.1.*environment\.yml/);
        assert.match(err.message, /unset LMC_BACKEND/);
        return true;
      });
      assert.equal(tf.getBackend(), 'cpu', 'a failed forced backend leaves the current one in place');
    },
  );
}

test('a native package that fails to load is reported with its own error', async () => {
  const load = () => {
    throw new Error('libcudnn.so.8: cannot open shared object file');
  };
  await assert.rejects(
    initBackend('gpu', { load }),
    /initBackend\('gpu'\).*failed: libcudnn\.so\.8: cannot open.*CUDA 11\.2/,
  );
});

test('an unknown LMC_BACKEND value is refused, naming the variable, the value and the choices', async () => {
  await assert.rejects(
    initBackend(undefined, { env: { LMC_BACKEND: 'bogus' } }),
    new RegExp(
      /the environment variable LMC_BACKEND="bogus": give one of gpu, tensorflow, wasm, cpu /.source +
        /\(or unset LMC_BACKEND: the fastest available/.source,
    ),
  );
  await assert.rejects(initBackend('webgl' as 'cpu'), /initBackend\('webgl'\): unknown backend/);
});

test('initBackend is idempotent and backends can be switched back and forth', async () => {
  const first = await initBackend('wasm');
  const start = performance.now();
  const again = await initBackend('wasm');
  assert.equal(again, first);
  assert.ok(performance.now() - start < 50, 'the second call does no work');
  assert.equal(backendInfo(), first);

  await tf.setBackend('cpu');
  assert.equal(backendInfo().name, 'cpu', 'backendInfo follows a direct tf.setBackend');
  assert.equal((await initBackend('wasm')).name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  const y = tf.tidy(() =>
    tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'same'),
  );
  assert.equal(y.dataSync()[5], 9);
  y.dispose();
});

test('registering the wasm kernels twice is harmless and silent', () => {
  registerWasmKernels();
  registerWasmKernels();
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') != null);
  assert.ok(!warnings.some((w) => w.includes('already registered')), warnings.join('\n'));
});

test("tfjs's 'install our node backend' notice is not printed", () => {
  assert.ok(
    !warnings.some((w) => w.includes('looks like you are running TensorFlow.js in Node.js')),
    warnings.join('\n'),
  );
});
