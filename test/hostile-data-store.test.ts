/**
 * Hostile input, part 2: data files a user points lmc-lab at, and damage to the store. A broken
 * file is named with what is wrong with it (never taken for absent data, never replaced by the
 * embedded digits); a damaged unit is found by `lmc ls --verify`, named file by file, and the next
 * run recomputes it to the same bits it had; nothing finished elsewhere is touched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { assertRefused, LMC, StoreWithResult, type HostileCase } from './fixtures/hostile';
import { idxBytes, writeCifarDataset, writeIdxDataset } from './data-fixtures';

const store = new StoreWithResult();
before(() => store.make());
after(() => store.remove());

const train = (...args: string[]) => [
  'train',
  '--config',
  'lenet_mnist',
  '--scale',
  'smoke',
  '--steps',
  '5it',
  ...args,
];
const cifar = ['train', '--config', 'resnet20_standard', '--scale', 'smoke', '--steps', '1it'];

/** An LMC_DATA_DIR whose mnist/ holds small valid IDX files, then `damage` applied to that folder. */
function mnistThen(damage: (mnist: string) => void): (dir: string) => Record<string, string> {
  return (dir) => {
    const mnist = path.join(dir, 'mnist');
    writeIdxDataset(mnist, { train: 120, test: 40 });
    damage(mnist);
    return { LMC_DATA_DIR: dir };
  };
}

const DATA: HostileCase[] = [
  {
    name: 'a truncated image file gives its expected and found sizes',
    args: train(),
    setup: mnistThen((mnist) => fs.truncateSync(path.join(mnist, 'train-images-idx3-ubyte'), 5000)),
    says: /train-images-idx3-ubyte: expected 94096 bytes for 120x28x28 images, found 5000 \(truncated\?\)/,
  },
  {
    name: 'a file with the wrong IDX magic number',
    args: train(),
    setup: mnistThen((mnist) => {
      const file = path.join(mnist, 'train-images-idx3-ubyte');
      const bytes = fs.readFileSync(file);
      bytes.writeUInt32BE(0x903, 0);
      fs.writeFileSync(file, bytes);
    }),
    says: /train-images-idx3-ubyte: bad IDX magic number 0x00000903, expected 0x00000803/,
  },
  {
    name: 'labels that do not match the images in number',
    args: train(),
    setup: mnistThen((mnist) =>
      fs.writeFileSync(path.join(mnist, 'train-labels-idx1-ubyte'), idxBytes(0x801, [119], new Uint8Array(119))),
    ),
    says: /train-images-idx3-ubyte holds 120 images but .*train-labels-idx1-ubyte holds 119 labels/,
  },
  {
    name: 'a label outside the classes',
    args: train(),
    setup: mnistThen((mnist) =>
      fs.writeFileSync(
        path.join(mnist, 'train-labels-idx1-ubyte'),
        idxBytes(
          0x801,
          [120],
          Array.from({ length: 120 }, (_, k) => (k === 7 ? 12 : 1)),
        ),
      ),
    ),
    says: /train-labels-idx1-ubyte.*label 12/,
  },
  {
    name: 'a data folder that is a symbolic link loop',
    args: train(),
    setup: (dir) => {
      fs.symlinkSync(path.join(dir, 'mnist'), path.join(dir, 'mnist'));
      return { LMC_DATA_DIR: dir };
    },
    says: /mnist is a symbolic link loop/,
  },
  {
    name: 'a data folder that is a file',
    args: train(),
    setup: (dir) => {
      fs.writeFileSync(path.join(dir, 'mnist'), 'not a folder');
      return { LMC_DATA_DIR: dir };
    },
    says: /mnist is a file, not a folder/,
  },
  {
    name: 'a CIFAR-10 folder that is a dangling link',
    args: cifar,
    setup: (dir) => {
      fs.symlinkSync(path.join(dir, 'elsewhere'), path.join(dir, 'cifar10'));
      return { LMC_DATA_DIR: dir };
    },
    says: /cifar10 is a symbolic link to .*elsewhere, which does not exist/,
  },
  {
    name: 'a CIFAR-10 batch whose size is not whole records',
    args: cifar,
    setup: (dir) => {
      writeCifarDataset(path.join(dir, 'cifar10'), 2, 2);
      fs.appendFileSync(path.join(dir, 'cifar10', 'data_batch_3.bin'), Buffer.alloc(100));
      return { LMC_DATA_DIR: dir };
    },
    says: /data_batch_3\.bin.*3073/,
  },
];

const MASK: HostileCase = {
  name: 'an IMP mask file that is no checkpoint of lmc-lab',
  args: (dir) => [
    'imp',
    '--config',
    'lenet_mnist',
    '--scale',
    'smoke',
    '--rewind',
    '0',
    '--levels',
    '1',
    '--mask',
    path.join(dir, 'mask.safetensors'),
  ],
  setup: (dir) => {
    fs.writeFileSync(path.join(dir, 'mask.safetensors'), 'this is not a safetensors file');
  },
  says: /--mask .*mask\.safetensors: not a checkpoint of lmc-lab: .*mask\.json is missing/,
};

describe('hostile input: data files', { timeout: 600_000 }, () => {
  for (const c of DATA) {
    it(c.name, () => {
      const run = assertRefused(store, c);
      assert.doesNotMatch(run.stdout + run.stderr, /MNIST subset \(10k digits\)/, 'never the embedded digits instead');
    });
  }
  it('an IMP mask file that is no checkpoint of lmc-lab', () => void assertRefused(store, MASK));
});

/** The finished store copied to a home of its own, `damage` applied to the unit's folder. */
function damagedCopy(damage: (unitDir: string) => void): StoreWithResult {
  const copy = new StoreWithResult();
  fs.cpSync(store.home, copy.home, { recursive: true, preserveTimestamps: true });
  copy.unit = store.unit;
  copy.weightsSha256 = store.weightsSha256;
  damage(path.join(copy.store, 'trunk', store.unit));
  return copy;
}

const DAMAGE: { name: string; damage: (unitDir: string) => void; says: RegExp }[] = [
  {
    name: 'one flipped bit in the weights (same size, same time)',
    damage: (dir) => {
      const file = path.join(dir, 'state.safetensors');
      const { mtime } = fs.statSync(file);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 1] ^= 1;
      fs.writeFileSync(file, bytes);
      fs.utimesSync(file, mtime, mtime);
    },
    says: /state\.safetensors: SHA-256 differs/,
  },
  {
    name: 'a truncated weights file',
    damage: (dir) => fs.truncateSync(path.join(dir, 'state.safetensors'), 1000),
    says: /state\.safetensors.*1000/,
  },
  {
    name: 'the weights file and its manifest entry both removed',
    damage: (dir) => {
      fs.rmSync(path.join(dir, 'state.safetensors'));
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
        files: Record<string, unknown>;
      };
      delete manifest.files['state.safetensors'];
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    },
    says: /manifest\.json.*seal/,
  },
  {
    name: 'a manifest that is not JSON',
    damage: (dir) => fs.writeFileSync(path.join(dir, 'manifest.json'), '{"files": '),
    says: /manifest\.json/,
  },
  {
    name: 'a config.json edited by hand',
    damage: (dir) => fs.appendFileSync(path.join(dir, 'config.json'), ' '),
    says: /config\.json/,
  },
];

describe('hostile input: the store', { timeout: 600_000 }, () => {
  for (const { name, damage, says } of DAMAGE) {
    it(`${name}: lmc ls --verify names it and exits 1; the next run recomputes the same bits`, () => {
      const copy = damagedCopy(damage);
      try {
        const verify = copy.lmc(['ls', '--verify']);
        assert.equal(verify.code, 1, verify.stdout + verify.stderr);
        assert.match(verify.stdout, /corrupt/);
        assert.match(verify.stderr, says);
        const again = copy.lmc(train('--json'));
        assert.equal(again.code, 0, again.stderr);
        const report = JSON.parse(again.stdout) as { fromStore: boolean; weightsSha256: string };
        assert.equal(report.fromStore, false, 'recomputed, never answered from damaged files');
        assert.equal(report.weightsSha256, store.weightsSha256, 'the same bits as the original run');
        copy.assertIntact();
      } finally {
        copy.remove();
      }
    });
  }

  it('lmc gc in a folder that is not a store deletes nothing and says so', () => {
    const stranger = fs.mkdtempSync(path.join(store.home, 'not-a-store-'));
    fs.writeFileSync(path.join(stranger, 'thesis.tex'), 'precious');
    const run = store.lmc(['gc', '--store', stranger]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /no lmc-store\.json here, so this is not an lmc-lab store \(is LMC_HOME right\?\); gc deletes nothing/,
    );
    assert.equal(fs.readFileSync(path.join(stranger, 'thesis.tex'), 'utf8'), 'precious');
    fs.rmSync(stranger, { recursive: true });
  });

  it('an interrupted lmc train resumes from its checkpoint to the bits of an uninterrupted run', async () => {
    const copy = new StoreWithResult();
    try {
      const args = [
        'train',
        '--config',
        'lenet_mnist',
        '--scale',
        'smoke',
        '--set',
        'training=400it',
        '--checkpoint-every',
        '50',
        '--json',
      ];
      const child = spawn(process.execPath, [LMC, ...args], {
        env: { ...process.env, LMC_BACKEND: 'wasm', LMC_WORKERS: '1', LMC_HOME: copy.home },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (/step (1[5-9]\d|[2-3]\d\d)\//.test(stderr) && child.exitCode === null) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('exit', () => resolve());
      });
      await new Promise((resolve) =>
        child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.on('exit', resolve),
      );
      const resumed = copy.lmc(args);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /resuming from its checkpoint at step [1-3]\d\d\b/);
      const fresh = new StoreWithResult();
      try {
        const whole = fresh.lmc(args);
        assert.equal(
          (JSON.parse(resumed.stdout) as { weightsSha256: string }).weightsSha256,
          (JSON.parse(whole.stdout) as { weightsSha256: string }).weightsSha256,
        );
      } finally {
        fresh.remove();
      }
    } finally {
      copy.remove();
    }
  });
});
