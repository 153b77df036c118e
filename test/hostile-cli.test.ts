/**
 * Hostile input, part 1: the `lmc` command's flags, `--set` and the environment. Each case is a
 * bad value a fair user could type; each must be refused with an error that names where the value
 * came from (flag, --set, environment variable), shows it (invisible characters made visible),
 * states what is valid, comes before any work, and leaves the store's finished unit as it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertRefused, StoreWithResult, type HostileCase } from './fixtures/hostile';

const store = new StoreWithResult();
before(() => store.make());
after(() => store.remove());

const train = (...args: string[]) => ['train', '--config', 'lenet_mnist', '--scale', 'smoke', ...args];
const instability = (...args: string[]) => ['instability', '--config', 'lenet_mnist', '--scale', 'smoke', ...args];
const imp = (...args: string[]) => ['imp', '--config', 'lenet_mnist', '--scale', 'smoke', '--rewind', '0', ...args];

const FLAGS: HostileCase[] = [
  {
    name: 'an unknown preset lists the valid ones',
    args: ['train', '--config', 'resnet18'],
    says: /unknown preset "resnet18"; valid presets are lenet_mnist, resnet20_standard/,
  },
  {
    name: 'a zero-width space in a preset name is shown',
    args: ['train', '--config', 'lenet_mnist\u200b'],
    says: /unknown preset "lenet_mnist\\u\{200b\}"/,
  },
  {
    name: 'a byte-order mark in a preset name is shown',
    args: ['train', '--config', '\ufefflenet_mnist'],
    says: /unknown preset "\\u\{feff\}lenet_mnist"/,
  },
  {
    name: 'a missing --config says which presets exist',
    args: ['train'],
    says: /--config is required; choose one of lenet_mnist/,
  },
  {
    name: 'a misspelt flag is an error, not ignored',
    args: train('--learning-rate', '0.1'),
    says: /Unknown option '--learning-rate'/,
  },
  {
    name: 'an unknown command shows the commands',
    args: ['frobnicate'],
    says: /unknown command "frobnicate"/,
    code: 2,
  },
  { name: 'a step that is not a step', args: train('--steps', 'ten'), says: /"ten" is not a step/ },
  {
    name: 'a step past the end of training',
    args: train('--steps', '100000it'),
    says: /--steps 100000it is step 100000, outside training/,
  },
  {
    name: 'an unknown scale from the flag',
    args: ['train', '--config', 'lenet_mnist', '--scale', 'huge'],
    says: /--scale "huge": use one of paper, quick, smoke/,
  },
  {
    name: '--checkpoint-every 0',
    args: train('--checkpoint-every', '0'),
    says: /--checkpoint-every "0": give a whole number from 1 to 1,000,000,000/,
  },
  {
    name: '--checkpoint-every that is a word',
    args: train('--checkpoint-every', 'often'),
    says: /--checkpoint-every "often": give a whole number/,
  },
  {
    name: '--inits 1e9 is refused before anything is allocated',
    args: instability('--inits', '1e9'),
    says: /--inits "1e9": give a whole number from 1 to 100/,
  },
  {
    name: '--inits 1000000000 in digits',
    args: instability('--inits', '1000000000'),
    says: /--inits "1000000000": give a whole number from 1 to 100/,
  },
  {
    name: '--pairs in hex',
    args: instability('--pairs', '0x10'),
    says: /--pairs "0x10": give a whole number from 1 to 100/,
  },
  { name: '--pairs Infinity', args: instability('--pairs', 'Infinity'), says: /--pairs "Infinity"/ },
  { name: '--pairs blank', args: instability('--pairs', ''), says: /--pairs "": give a whole number/ },
  {
    name: '--alphas 1 (a path needs two ends)',
    args: instability('--alphas', '1'),
    says: /--alphas "1": give a whole number from 2 to 1,001, in decimal digits/,
  },
  {
    name: '--alphas 100000',
    args: instability('--alphas', '100000'),
    says: /--alphas "100000": give a whole number from 2 to 1,001/,
  },
  { name: 'an alpha outside [0, 1]', args: instability('--alphas', '0,2'), says: /"2" is not an alpha in \[0, 1\]/ },
  { name: 'an alpha in hex', args: instability('--alphas', '0,0x1'), says: /--alphas "0x1": not a decimal number/ },
  {
    name: '65 values of k',
    args: instability('--k', Array.from({ length: 65 }, (_, i) => i).join(',')),
    says: /--k: 65 values of k; give at most 64/,
  },
  {
    name: 'an unknown BatchNorm policy',
    args: instability('--bn', 'average'),
    says: /"average" is not a BatchNorm policy/,
  },
  {
    name: 'an unknown sparse network',
    args: instability('--sparse', 'magnitude'),
    says: /--sparse magnitude: use one of imp, random-prune, reinit/,
  },
  {
    name: '--density without --sparse',
    args: instability('--density', '0.5'),
    says: /--density applies to sparse networks/,
  },
  {
    name: '--density 1.5',
    args: imp('--density', '1.5'),
    says: /--density 1\.5: a density is the fraction of prunable weights kept, in \(0, 1\]/,
  },
  { name: '--density 0x1', args: imp('--density', '0x1'), says: /--density "0x1": not a decimal number/ },
  {
    name: '--levels -1',
    args: imp('--levels=-1'),
    says: /--levels "-1": give a whole number from 0 to 100, in decimal digits/,
  },
  { name: '--levels 1e3', args: imp('--levels', '1e3'), says: /--levels "1e3": give a whole number from 0 to 100/ },
  {
    name: '--levels and --density together',
    args: imp('--levels', '2', '--density', '0.5'),
    says: /--levels and --density both given/,
  },
  {
    name: 'a rewind step past the end of training',
    args: [
      'imp',
      '--config',
      'lenet_mnist',
      '--scale',
      'smoke',
      '--set',
      'training=12it',
      '--rewind',
      '13it',
      '--levels',
      '2',
    ],
    says: /rewindTo = "13it" is step 13, past the end of training \(T = 12 iterations\)/,
  },
  {
    name: 'an unknown random-pruning scope',
    args: imp('--levels', '1', '--random-scope', 'local'),
    says: /--random-scope local/,
  },
  {
    name: 'several levels with one-shot pruning',
    args: imp('--oneshot', '--levels', '3'),
    says: /levels = 3 with oneShot/,
  },
  {
    name: 'lmc ls --kind with an unknown kind',
    args: ['ls', '--kind', 'bogus'],
    says: /--kind "bogus": no such kind of unit; use one of trunk, copy, imp-level/,
  },
  {
    name: 'lmc show with something that is no hash',
    args: ['show', 'zz!'],
    says: /"zz!" is not a unit hash; give the hash or a unique prefix of it/,
  },
  {
    name: 'lmc show with a hash no unit has',
    args: ['show', 'ffffffff'],
    says: /no unit has a hash starting with "ffffffff"; `lmc ls` lists the units/,
  },
];

const SET: HostileCase[] = [
  {
    name: 'a negative learning rate',
    args: train('--set', 'lr=-0.5'),
    says: /--set lr=-0\.5: config: lr = -0\.5 is invalid/,
  },
  {
    name: 'a batch size of 0',
    args: train('--set', 'batchSize=0'),
    says: /--set batchSize=0: config: batchSize = 0 is invalid/,
  },
  { name: 'an unknown schedule', args: train('--set', 'schedule=cosine'), says: /schedule = "cosine" is invalid/ },
  { name: 'an unknown key', args: train('--set', 'learning_rate=1'), says: /--set "learning_rate": unknown key/ },
  { name: 'a number in hex', args: train('--set', 'lr=0x10'), says: /--set lr="0x10": lr is a decimal number/ },
  { name: 'Infinity', args: train('--set', 'lr=Infinity'), says: /--set lr="Infinity": lr is a decimal number/ },
  { name: 'a blank number', args: train('--set', 'lr='), says: /--set lr="": lr is a decimal number/ },
  {
    name: 'a zero-width space in a key',
    args: train('--set', 'lr\u200b=0.1'),
    says: /--set "lr\\u\{200b\}": unknown key/,
  },
  { name: 'no "=" at all', args: train('--set', 'lr'), says: /--set "lr": write key=value, e.g. --set lr=0\.01/ },
  {
    name: 'a negative seed states the range',
    args: train('--set', 'dataOrderSeed=-1'),
    says: new RegExp(
      /--set dataOrderSeed=-1: config: dataOrderSeed = -1 is invalid; /.source +
        /seeds are whole numbers from 0 to 9007199254740991/.source,
    ),
  },
  {
    name: 'a fractional seed',
    args: train('--set', 'initSeed=1.5'),
    says: /--set initSeed=1\.5: config: initSeed = 1\.5 is invalid; seeds are whole numbers/,
  },
  {
    name: 'an unknown optimizer',
    args: train('--set', 'optimizer=rmsprop'),
    says: /--set optimizer=rmsprop: config: optimizer = "rmsprop" is invalid; use "sgd" or "adam"/,
  },
  {
    name: 'a boolean that is neither',
    args: train('--set', 'augment=maybe'),
    says: /--set augment=maybe: augment is true or false/,
  },
  {
    name: 'a milestone that is not a step',
    args: train('--set', 'milestones=a,b'),
    says: /--set milestones=a,b: config: milestones\[0\] = "a" is invalid; "a" is not a step/,
  },
];

const ENV: HostileCase[] = [
  {
    name: 'LMC_SCALE unknown: blamed on the variable, not on --scale',
    args: ['train', '--config', 'lenet_mnist'],
    env: { LMC_SCALE: 'huge' },
    says: /the environment variable LMC_SCALE="huge": give one of paper, quick, smoke \(or unset LMC_SCALE/,
  },
  {
    name: 'LMC_SCALE with an invisible character',
    args: ['train', '--config', 'lenet_mnist'],
    env: { LMC_SCALE: 'smoke\u200b' },
    says: /LMC_SCALE="smoke\\u\{200b\}"/,
  },
  {
    name: 'LMC_BACKEND unknown',
    args: ['backend'],
    env: { LMC_BACKEND: 'tpu' },
    says: /the environment variable LMC_BACKEND="tpu": give one of gpu, tensorflow, wasm, cpu/,
  },
  {
    name: 'LMC_BACKEND=gpu where it is not installed says how to get it',
    args: ['backend'],
    env: { LMC_BACKEND: 'gpu' },
    says: /@tensorflow\/tfjs-node-gpu/,
  },
  {
    name: 'LMC_WORKERS=0',
    args: instability('--k', '0'),
    env: { LMC_WORKERS: '0' },
    says: /LMC_WORKERS="0": give a whole number from 1 to 256 \(or unset LMC_WORKERS: one per core/,
  },
  { name: 'LMC_WORKERS in hex', args: instability('--k', '0'), env: { LMC_WORKERS: '0x2' }, says: /LMC_WORKERS="0x2"/ },
  {
    name: 'LMC_NATIVE neither on nor off',
    args: ['backend'],
    env: { LMC_NATIVE: 'maybe' },
    says: /LMC_NATIVE="maybe": give on or off/,
  },
  {
    name: 'LMC_NATIVE_THREADS=0',
    args: train(),
    env: { LMC_NATIVE_THREADS: '0' },
    says: /LMC_NATIVE_THREADS="0": give a whole number from 1 to 1024/,
  },
  {
    name: 'LMC_RESIDENT_DATA not a policy',
    args: train(),
    env: { LMC_RESIDENT_DATA: 'yes please' },
    says: /LMC_RESIDENT_DATA="yes please": give auto, always or never/,
  },
  {
    name: 'LMC_RESIDENT_MAX_MB negative',
    args: train(),
    env: { LMC_RESIDENT_MAX_MB: '-1' },
    says: /LMC_RESIDENT_MAX_MB="-1": give a decimal number of MiB from 0/,
  },
  {
    name: 'LMC_DEBUG neither on nor off',
    args: train(),
    env: { LMC_DEBUG: 'verbose' },
    says: /LMC_DEBUG="verbose": give on or off/,
  },
  {
    name: 'LMC_KERNEL_TEXT_LIMIT_MB not a size (checked by lmc too)',
    args: ['ls'],
    env: { LMC_KERNEL_TEXT_LIMIT_MB: 'lots' },
    says: /LMC_KERNEL_TEXT_LIMIT_MB="lots": give a decimal number of MiB/,
  },
  {
    name: 'two malformed settings are both named',
    args: train(),
    env: { LMC_WORKERS: 'many', LMC_NATIVE: '2' },
    says: /LMC_WORKERS="many"[^]*LMC_NATIVE="2"/,
  },
  {
    name: 'LMC_DATA_DIR/mnist a dangling link: named, never replaced by the embedded digits',
    args: train('--steps', '5it'),
    setup: (dir) => {
      fs.symlinkSync(path.join(dir, 'gone'), path.join(dir, 'mnist'));
      return { LMC_DATA_DIR: dir };
    },
    says: /mnist is a symbolic link to .*gone, which does not exist \(a dangling link\)/,
  },
  {
    name: 'LMC_DATA_DIR under a regular file',
    args: train('--steps', '5it'),
    setup: (dir) => {
      fs.writeFileSync(path.join(dir, 'file'), 'x');
      return { LMC_DATA_DIR: path.join(dir, 'file', 'data') };
    },
    says: /a part of that path is a file, not a folder; point LMC_DATA_DIR at a folder/,
  },
];

describe('hostile input: CLI flags', { timeout: 600_000 }, () => {
  for (const c of FLAGS) it(c.name, () => void assertRefused(store, c));
});

describe('hostile input: --set', { timeout: 600_000 }, () => {
  for (const c of SET) it(c.name, () => void assertRefused(store, c));
});

describe('hostile input: environment variables', { timeout: 600_000 }, () => {
  for (const c of ENV) it(c.name, () => void assertRefused(store, c));

  it('LMC_HOME under a regular file is refused before any training, saying what is in the way', () => {
    const file = path.join(store.home, 'not-a-folder');
    fs.writeFileSync(file, 'x');
    const run = store.lmc(train('--steps', '5it'), { LMC_HOME: path.join(file, 'home') });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /the store .*home[/\\]store cannot be made: .*not-a-folder is a file, not a folder; point LMC_HOME/,
    );
    assert.doesNotMatch(run.stderr, /training steps/, 'nothing trained');
    fs.rmSync(file);
    store.assertIntact();
  });

  it('lmc settings lists every setting and names the malformed ones, exiting 1', () => {
    const ok = store.lmc(['settings', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const rows = JSON.parse(ok.stdout) as { name: string; problem: string | null }[];
    for (const name of [
      'LMC_HOME',
      'LMC_DATA_DIR',
      'LMC_SCALE',
      'LMC_BACKEND',
      'LMC_WORKERS',
      'LMC_KERNEL_TEXT_LIMIT_MB',
    ]) {
      assert.ok(
        rows.some((r) => r.name === name),
        name,
      );
    }
    const bad = store.lmc(['settings'], { LMC_WORKERS: 'many' });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      /LMC_WORKERS="many"\n {4}the environment variable LMC_WORKERS="many": give a whole number/,
    );
    // Help still answers while a setting is malformed: reading how to fix it must not need it fixed.
    const help = store.lmc(['train', '--help'], { LMC_WORKERS: 'many' });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^lmc train /);
  });
});
