/**
 * The Runs panel's comm target over the wire: a kernel whose LMC_HOME holds a small store answers
 * `list` with every unit, `figures` with the three figures of selected pairs, names a bad request's
 * problem, closes comms on unknown targets, and answers while a cell is busy.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { TestKernel } from './fixtures/kernel/client';
import { experimentContext, instabilityPair, listRuns } from '../lib/experiments';
import { openStore } from '../lib/store';
import { lenet, tempDir } from './fixtures/experiments';
import type { Message } from '../kernel/wire';

describe('the lmc-lab.runs comm target', { timeout: 180_000 }, () => {
  let kernel: TestKernel;
  let home: string;
  let pairHash: string;
  before(async () => {
    home = tempDir();
    const ctx = experimentContext({
      store: openStore({ root: path.join(home, 'store'), onEvent: () => undefined }),
      workers: 1,
    });
    pairHash = (await instabilityPair(ctx, { config: lenet(), k: 0, pair: 0, alphas: 3 })).unit.hash;
    kernel = await TestKernel.start({ env: { ...process.env, LMC_HOME: home } });
  });
  after(async () => {
    await kernel?.stop();
  });

  /** The comm_msg data the kernel sends on `commId` answering request `id`. */
  const answer = async (commId: string, id: number | null, timeoutMs = 30_000) =>
    (
      await kernel.waitFor(
        (m: Message) =>
          m.header.msg_type === 'comm_msg' &&
          m.content.comm_id === commId &&
          (m.content.data as { id?: unknown }).id === id,
        timeoutMs,
      )
    ).content.data as Record<string, unknown>;

  it('closes a comm on a target it does not serve', async () => {
    const commId = randomUUID();
    await kernel.send('comm_open', { comm_id: commId, target_name: 'jupyter.widget', data: {} });
    await kernel.waitFor((m) => m.header.msg_type === 'comm_close' && m.content.comm_id === commId, 10_000);
  });

  it("lists its store's units, draws the figures of a pair, and says what was wrong with a bad request", async () => {
    const commId = randomUUID();
    await kernel.send('comm_open', { comm_id: commId, target_name: 'lmc-lab.runs', data: {} });
    const hello = await kernel.waitFor(
      (m) =>
        m.header.msg_type === 'comm_msg' &&
        m.content.comm_id === commId &&
        (m.content.data as { type?: string }).type === 'hello',
      30_000,
    );
    assert.equal((hello.content.data as { store: string }).store, path.join(home, 'store'));
    const info = await kernel.request('comm_info_request', { target_name: 'lmc-lab.runs' });
    assert.deepEqual(info.content.comms, { [commId]: { target_name: 'lmc-lab.runs' } });

    await kernel.send('comm_msg', { comm_id: commId, data: { type: 'list', id: 1 } });
    const list = await answer(commId, 1);
    const expected = await listRuns(openStore({ root: path.join(home, 'store') }));
    assert.deepEqual(
      (list.units as { hash: string }[]).map((u) => u.hash),
      expected.map((u) => u.hash),
    );
    const pair = (list.units as { hash: string; kind: string; k: number; state: string }[]).find(
      (u) => u.hash === pairHash,
    )!;
    assert.deepEqual([pair.kind, pair.k, pair.state], ['instability-pair', 0, 'finished']);

    await kernel.send('comm_msg', { comm_id: commId, data: { type: 'figures', id: 2, hashes: [pairHash] } });
    const figures = (await answer(commId, 2)).figures as { layout: { title?: { text?: string } } }[];
    assert.deepEqual(
      figures.map((f) => f.layout.title?.text),
      ['Error along the path (1 pair)', 'Instability against k (1 pair)', 'L2 distance against k (1 pair)'],
    );

    await kernel.send('comm_msg', { comm_id: commId, data: { type: 'figures', id: 3, hashes: ['zz'] } });
    assert.match(String((await answer(commId, 3)).message), /"instability-pair\/zz" is not a unit hash/);
    await kernel.send('comm_msg', { comm_id: commId, data: { type: 'bogus', id: 4 } });
    assert.match(String((await answer(commId, 4)).message), /unknown request type "bogus"; use 'list' or 'figures'/);

    // A cell waiting on a timer does not hold the answer back.
    const cell = await kernel.send('execute_request', {
      code: 'await new Promise((r) => setTimeout(r, 4000)); 1',
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    await kernel.waitFor((m) => m.parent_header.msg_id === cell && m.header.msg_type === 'execute_input', 10_000);
    const asked = Date.now();
    await kernel.send('comm_msg', { comm_id: commId, data: { type: 'list', id: 5 } });
    await answer(commId, 5, 3_000);
    assert.ok(Date.now() - asked < 3_000);
    assert.equal((await kernel.reply(cell)).content.status, 'ok');

    await kernel.send('comm_close', { comm_id: commId, data: {} });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual((await kernel.request('comm_info_request', {})).content.comms, {});
  });
});
