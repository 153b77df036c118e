// A script that never starts a backend: its units compute on the one initBackend chooses (the CLI's
// and the kernel's), not on the pure-JS backend tfjs falls back to. This file must not call
// initBackend before the unit runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { backendInfo, initBackend } from '../lib/backend';
import { trunk } from '../lib/experiments';
import { counted, lenet } from './fixtures/experiments';

test('a unit computed in this thread starts the backend initBackend would choose when none was started', async () => {
  assert.throws(() => backendInfo(), /no backend has been started yet|was not started by initBackend/);
  const { ctx, trainings } = counted({ workers: 1 });
  await trunk(ctx, lenet({ training: '4it' }), 2);
  assert.equal(trainings().length, 1);
  const started = backendInfo();
  const chosen = await initBackend();
  assert.equal(started.name, chosen.name);
  assert.equal(tf.getBackend(), chosen.tfBackend);
});
