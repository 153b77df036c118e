// Runs that train at once (units on worker threads) each keep their own progress: on a terminal a
// line each at the bottom, finished lines left above; in a notebook a block each in one display.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { terminalProgress } from '../lib/cli/progress';
import { type MimeBundle } from '../lib/display';
import { progressBoard } from '../lib/display/progress';
import { PROGRESS_MIME } from '../lib/io/wire';
import type { StepContext } from '../lib/train/trainer';

/**
 * What a terminal shows after `text`: handles \r, \n, cursor
 * up (ESC[nA), erase line (ESC[K) and erase below (ESC[J).
 */
function screen(text: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      if (lines.length <= row) lines.push('');
    } else if (ch === '\x1b') {
      const m = /^\x1b\[(\d*)([AKJ])/.exec(text.slice(i));
      assert.ok(m, `unknown escape at ${i}`);
      i += m[0].length - 1;
      if (m[2] === 'A') row = Math.max(0, row - Number(m[1] || 1));
      else if (m[2] === 'K') lines[row] = lines[row].slice(0, col);
      else {
        lines[row] = lines[row].slice(0, col);
        lines.length = row + 1;
      }
    } else {
      lines[row] = lines[row].slice(0, col).padEnd(col) + ch + lines[row].slice(col + 1);
      col++;
    }
  }
  return lines.filter((l, i) => l !== '' || i < lines.length - 1);
}

const at = (step: number, endStep = 20): StepContext =>
  ({ step, epoch: 0, itersPerEpoch: 10, startStep: 0, endStep, lr: 0.1, loss: () => 1 / (step + 1) }) as StepContext;

test('terminal: two runs at once each keep a line; a finished one stays above the one still running', async () => {
  let out = '';
  const stream = {
    isTTY: true,
    write: (s: string) => {
      out += s;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  const a = terminalProgress('copy A', stream, 5);
  const b = terminalProgress('copy B', stream, 5);
  await a.onStart!(at(0));
  await b.onStart!(at(0));
  for (let step = 1; step <= 10; step++) {
    await a.onStep!(at(step, 10));
    await b.onStep!(at(step));
  }
  let shown = screen(out);
  assert.equal(shown.length, 2, shown.join('\n'));
  assert.match(shown[0], /^copy A \[#+\] step 10\/10/);
  assert.match(shown[1], /^copy B \[#+-+\] step 10\/20/);
  for (let step = 11; step <= 20; step++) await b.onStep!(at(step));
  shown = screen(out);
  assert.deepEqual(
    shown.map((l) => l.split(' [')[0]),
    ['copy A', 'copy B'],
  );
  assert.match(shown[1], /step 20\/20/);
  assert.ok(out.endsWith('\n\x1b[J'), 'the cursor ends below the last finished line');
});

test("notebook: a board shows a block per run at once, and exactly the run's own display if it has one", async () => {
  const shown: MimeBundle[] = [];
  const board = progressBoard({ update: (b) => shown.push(b) }, 2);
  const a = board.run({ label: 'copy A', intervalSeconds: 0 });
  await a.onStart!(at(0));
  const single = shown[shown.length - 1];
  assert.doesNotMatch(String(single['text/plain']), /\n/);
  const b = board.run({ label: 'copy B', intervalSeconds: 0 });
  await b.onStart!(at(0));
  await a.onStep!(at(20));
  await b.onStep!(at(5));
  const both = String(shown[shown.length - 1]['text/plain']).split('\n');
  assert.equal(both.length, 2);
  assert.match(both[0], /^copy A .*done/);
  assert.match(both[1], /^copy B .*25%/);
  // A third run replaces the finished one; the running one stays.
  const c = board.run({ label: 'copy C', intervalSeconds: 0 });
  await c.onStart!(at(0));
  const next = String(shown[shown.length - 1]['text/plain'])
    .split('\n')
    .map((l) => l.split(' [')[0]);
  assert.deepEqual(next, ['copy B', 'copy C']);
  assert.equal((String(shown[shown.length - 1]['text/html']).match(/class="lmc-progress"/g) ?? []).length, 2);
  // The data for the JupyterLab extension holds the same blocks, in the same order.
  const data = shown[shown.length - 1][PROGRESS_MIME] as { blocks: { label: string; state: string }[] };
  assert.deepEqual(
    data.blocks.map((b) => b.label),
    ['copy B', 'copy C'],
  );
});
