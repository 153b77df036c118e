// Training progress: one display updated in place, throttled, with accuracy checks and a final state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type StepContext, trainFrom } from '../lib/train/trainer';
import { notebookProgress, type MimeBundle } from '../lib/display';
import { PROGRESS_MIME, type ProgressBlock } from '../lib/io/wire';
import { unitBoardBundle } from '../lib/display/unit-board';
import { initBackend } from '../lib/backend';
import { presetConfig } from '../lib/train/presets';

/** A handle that records every update. */
function recordingHandle() {
  const updates: MimeBundle[] = [];
  return { updates, update: (bundle: MimeBundle) => void updates.push(bundle) };
}

/** A step context as the trainer makes it (only what the progress callback reads). */
function contextAt(step: number, endStep: number, itersPerEpoch: number, lossReads: { n: number }): StepContext {
  return {
    step,
    endStep,
    itersPerEpoch,
    startStep: 0,
    epoch: step / itersPerEpoch,
    lr: 0.1,
    loss: () => {
      lossReads.n++;
      return 1 / step;
    },
  } as unknown as StepContext;
}

test('updates one handle at most every interval, at accuracy checks and at the end; the last state stays', async () => {
  let now = 0;
  const handle = recordingHandle();
  const lossReads = { n: 0 };
  const accuracyAt: number[] = [];
  const progress = notebookProgress(handle, {
    label: 'lenet <k=0>',
    clock: () => now,
    accuracy: (ctx) => {
      accuracyAt.push(ctx.step);
      return 0.9 + ctx.step / 1000;
    },
  });
  assert.equal(progress.everySteps, 1);
  await progress.onStart!({ step: 0, endStep: 50, itersPerEpoch: 20, startStep: 0, epoch: 0 } as never);
  assert.equal(handle.updates.length, 1, 'drawn once before the first step');
  for (let step = 1; step <= 50; step++) {
    now += 100; // 10 steps per second: a redraw every 5 steps at the 0.5 s default
    await progress.onStep!(contextAt(step, 50, 20, lossReads));
  }
  assert.deepEqual(accuracyAt, [20, 40, 50], 'accuracy at each epoch and at the end');
  // Redraws: steps 5, 10, ..., 50 by time (10), plus the epoch checks at 20 and 40 which fall on
  // time redraws too, then the final one: 1 + 10.
  assert.equal(handle.updates.length, 11);
  assert.equal(lossReads.n, 10, 'the loss is read from the device only at redraws');
  const last = handle.updates[handle.updates.length - 1];
  const html = String(last['text/html']);
  assert.ok(html.includes('lenet &lt;k=0&gt;'), 'the label is escaped');
  assert.ok(html.includes('done'));
  assert.ok(html.includes('step 50/50'));
  assert.ok(html.includes('accuracy 95.00% (step 50)'));
  assert.ok(html.includes('loss 0.02'));
  assert.ok(html.includes('10 it/s'));
  assert.ok(html.includes('<polyline'), 'a loss curve');
  assert.ok(!html.includes('ETA'), 'no ETA once done');
  assert.match(String(last['text/plain']), /^lenet <k=0> \[#{24}\] done {2}step 50\/50 {2}epoch 2\.50 {2}loss 0\.02/);
  // The same state as data, for the JupyterLab extension's renderer.
  const { blocks } = last[PROGRESS_MIME] as { blocks: ProgressBlock[] };
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0].label, 'lenet <k=0>');
  assert.equal(blocks[0].state, 'done');
  assert.equal(blocks[0].status, 'done');
  assert.equal(blocks[0].fraction, 1);
  assert.equal(blocks[0].etaSeconds, null);
  assert.ok(
    blocks[0].details.includes('step 50/50') && blocks[0].details.includes('accuracy 95.00% (step 50)'),
    blocks[0].details.join(' | '),
  );
  assert.equal(blocks[0].losses.length, 10);
  assert.deepEqual(blocks[0].losses[9], [50, 0.02]);
  const state = progress.state();
  assert.equal(state.done, true);
  assert.equal(state.losses.length, 10);
  assert.equal(state.elapsedSeconds, 5);
});

test('mid-run: percent, rate and ETA; finish() marks an early stop and redraws', async () => {
  let now = 0;
  const handle = recordingHandle();
  const progress = notebookProgress(handle, { clock: () => now, intervalSeconds: 1 });
  await progress.onStart!({ step: 100, endStep: 300, itersPerEpoch: 1000, startStep: 100, epoch: 0.1 } as never);
  now = 10000;
  await progress.onStep!(contextAt(150, 300, 1000, { n: 0 }));
  const mid = String(handle.updates[handle.updates.length - 1]['text/plain']);
  assert.match(mid, /25% {2}step 150\/300/);
  assert.match(mid, /5 it\/s {2}elapsed 10s {2}ETA 30s$/);
  progress.finish('interrupted at step 150');
  const end = handle.updates[handle.updates.length - 1];
  assert.match(String(end['text/plain']), /interrupted at step 150/);
  assert.equal(progress.state().done, true);
});

test('with the real trainer: one in-place display, final state at the last step', async () => {
  await initBackend('wasm');
  const handle = recordingHandle();
  const config = presetConfig('lenet_mnist', 'smoke', { training: '12it' });
  const result = await trainFrom(config, {
    callbacks: [notebookProgress(handle, { intervalSeconds: 3600, accuracy: () => 0.5, accuracyEvery: 6 })],
  });
  result.dispose();
  // Start, the accuracy check at step 6, and the end (step 12, also an accuracy check).
  assert.equal(handle.updates.length, 3);
  assert.match(String(handle.updates[2]['text/plain']), /done {2}step 12\/12 .*accuracy 50\.00% \(step 12\)/);
});

test('a unit board draws one block per unit: queued, running with step and ETA, done, failed with its detail', () => {
  const bundle = unitBoardBundle([
    { label: 'trunk k=<4>', state: 'queued', detail: 'job 7, waiting: Priority' },
    { label: 'copy', state: 'running', step: 30, endStep: 120, etaSeconds: 9, detail: 'job 8' },
    { label: 'pair', state: 'done', detail: 'job 9' },
    { label: 'level', state: 'failed', detail: 'failed: out of memory; log /s/log-10.txt' },
  ]);
  const blocks = (bundle[PROGRESS_MIME] as { blocks: ProgressBlock[] }).blocks;
  assert.deepEqual(
    blocks.map((b) => [b.state, b.status, b.fraction]),
    [
      ['running', 'queued', 0],
      ['running', '25%', 0.25],
      ['done', 'done', 1],
      ['stopped', 'failed', 0],
    ],
  );
  assert.deepEqual(blocks[1].details, ['step 30/120', 'ETA 9.0s', 'job 8']);
  assert.equal(blocks[1].etaSeconds, 9);
  assert.match(String(bundle['text/html']), /trunk k=&lt;4&gt;/);
  assert.match(String(bundle['text/plain']), /level: failed {2}failed: out of memory; log \/s\/log-10\.txt/);
});
