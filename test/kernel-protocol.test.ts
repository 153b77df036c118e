/**
 * The kernel over the wire, from a zeromq client (no Python needed): kernel_info, rich results,
 * errors that point at the cell's line, stop_on_error, history, comm_info, is_complete, messages
 * with a wrong HMAC ignored, and SIGINT stopping a training run within a step. (What users get
 * wrong, async errors, busy loops, huge outputs, is in hostile-kernel.test.ts.)
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestKernel } from './fixtures/kernel/client';
import { Signer } from '../kernel/wire';
import { ts } from '../kernel/cell-lines';

describe('lmc-lab kernel protocol', { timeout: 180_000 }, () => {
  let kernel: TestKernel;
  before(async () => {
    kernel = await TestKernel.start();
  });
  after(async () => {
    await kernel?.stop();
  });

  it('answers kernel_info with status ok and the TypeScript version that compiles cells', async () => {
    const { content } = await kernel.request('kernel_info_request', {});
    assert.equal(content.status, 'ok');
    assert.equal(content.implementation, 'lmc-lab');
    const info = content.language_info as Record<string, unknown>;
    assert.equal(info.name, 'typescript');
    assert.equal(info.version, ts.version);
    assert.match(String(content.banner), /backend \w+/);
  });

  it('ignores messages whose HMAC signature is wrong, and runs the same code when signed', async () => {
    const marker = path.join(kernel.dir, 'pwned');
    const code = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`;
    const forged = [
      await kernel.send('execute_request', { code, silent: false }, { signer: new Signer('not-the-key') }),
      await kernel.send('execute_request', { code, silent: false }, { signer: new Signer('') }),
      await kernel.send(
        'execute_request',
        { code, silent: false },
        { channel: 'control', signer: new Signer('not-the-key') },
      ),
    ];
    // A signed request after the forged ones: once it is answered, the forged ones were read and dropped.
    const { reply } = await kernel.execute('1');
    assert.equal(reply.content.status, 'ok');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(fs.existsSync(marker), false, 'a forged execute_request ran');
    for (const id of forged) assert.deepEqual(kernel.outputsOf(id), [], 'the kernel answered a forged message');
    assert.match(kernel.stderr, /invalid HMAC signature/);
    const signed = await kernel.execute(code);
    assert.equal(signed.reply.content.status, 'ok');
    assert.equal(fs.existsSync(marker), true);
  });

  it('sends the last value as execute_result with its own MIME bundle', async () => {
    const { reply, outputs } = await kernel.execute(
      `({ [Symbol.for('lmc-lab.mimeBundle')]: () => ({ 'text/html': '<b>mine</b>', 'text/plain': 'mine' }) })`,
    );
    assert.equal(reply.content.status, 'ok');
    const result = outputs.find((m) => m.header.msg_type === 'execute_result');
    assert.ok(result, 'no execute_result');
    assert.equal(result.content.execution_count, reply.content.execution_count);
    assert.deepEqual(result.content.data, { 'text/html': '<b>mine</b>', 'text/plain': 'mine' });
  });

  it('reports a runtime error with ename, evalue and a traceback at the cell line', async () => {
    const code =
      'const limit = 3;\nfunction check(n: number) {\n' +
      '  if (n > limit) throw new RangeError(`too big: ${n}`);\n}\ncheck(5);';
    const { reply, outputs } = await kernel.execute(code);
    assert.equal(reply.content.status, 'error');
    assert.equal(reply.content.ename, 'RangeError');
    assert.equal(reply.content.evalue, 'too big: 5');
    const traceback = (reply.content.traceback as string[]).join('\n');
    const cell = `In[${reply.content.execution_count}]`;
    assert.ok(traceback.includes(`at check (${cell}, line 3)`), traceback);
    assert.ok(traceback.includes(`${cell}, line 5`), traceback);
    assert.ok(traceback.includes('----> 3 |   if (n > limit)'), traceback);
    const errors = outputs.filter((m) => m.header.msg_type === 'error');
    assert.equal(errors.length, 1);
    assert.equal(
      outputs.some((m) => m.header.msg_type === 'stream'),
      false,
      'the error was also printed as text',
    );
  });

  it("reads an earlier cell's variables via shorthand properties ({ scale }), which stock tslab cannot", async () => {
    assert.equal((await kernel.execute("const scale = 'quick';\nlet levels = 15;")).reply.content.status, 'ok');
    const { reply, outputs } = await kernel.execute('const plan = { scale, levels };\n({ ...plan, copy: { scale } })');
    assert.equal(reply.content.status, 'ok', JSON.stringify(reply.content));
    const result = outputs.find((m) => m.header.msg_type === 'execute_result');
    assert.match(
      String((result?.content.data as Record<string, unknown>)['text/plain']),
      /scale: 'quick', levels: 15, copy: \{ scale: 'quick' \}/,
    );
    const destructured = await kernel.execute('let count = 0;\n({ count = 7 } = {} as { count?: number });\ncount');
    assert.equal(destructured.reply.content.status, 'ok', JSON.stringify(destructured.reply.content));
  });

  it('runs nested top-level awaits (await (await p).y()), which stock tslab compiles as a plain function', async () => {
    assert.equal(
      (await kernel.execute('const later = Promise.resolve({ y: async () => 41 });')).reply.content.status,
      'ok',
    );
    const { reply, outputs } = await kernel.execute('const got = await (await later).y();\ngot + 1');
    assert.equal(reply.content.status, 'ok', JSON.stringify(reply.content));
    const result = outputs.find((m) => m.header.msg_type === 'execute_result');
    assert.equal((result?.content.data as Record<string, unknown>)['text/plain'], '42');
  });

  it('reports a type error as CompileError at the line and column of the cell', async () => {
    const { reply } = await kernel.execute('const ok = 1;\n  const n: number = "one";');
    assert.equal(reply.content.ename, 'CompileError');
    assert.match(String(reply.content.evalue), /line 2, column 9: Type 'string' is not assignable to type 'number'/);
  });

  it('with stop_on_error aborts only the requests queued behind a failing cell', async () => {
    const statuses = async (stopOnError: boolean) => {
      const failing = 'await new Promise((r) => setTimeout(r, 300)); throw new Error("first fails");';
      const ids = [
        await kernel.send('execute_request', { code: failing, stop_on_error: stopOnError }),
        await kernel.send('execute_request', { code: '2', stop_on_error: stopOnError }),
        await kernel.send('execute_request', { code: '3', stop_on_error: stopOnError }),
      ];
      return Promise.all(ids.map(async (id) => (await kernel.reply(id)).content.status));
    };
    assert.deepEqual(await statuses(true), ['error', 'aborted', 'aborted']);
    assert.deepEqual(await statuses(false), ['error', 'ok', 'ok']);
    assert.equal((await kernel.execute('4')).reply.content.status, 'ok', 'a request after the error was aborted');
  });

  it('answers history, comm_info and is_complete with the right reply types', async () => {
    await kernel.execute('const historyProbe = 11 * 11');
    const tail = await kernel.request('history_request', { hist_access_type: 'tail', n: 1, output: false, raw: true });
    assert.equal(tail.header.msg_type, 'history_reply');
    assert.deepEqual((tail.content.history as unknown[][])[0].slice(2), ['const historyProbe = 11 * 11']);
    const comm = await kernel.request('comm_info_request', { target_name: 'jupyter.widget' });
    assert.equal(comm.header.msg_type, 'comm_info_reply');
    assert.deepEqual(comm.content, { status: 'ok', comms: {} });
    const status = async (code: string) => (await kernel.request('is_complete_request', { code })).content.status;
    assert.equal(await status('const xs = [1, 2,'), 'incomplete');
    assert.equal(await status('const = ;'), 'invalid');
    assert.equal(await status('lmc.presetConfig("lenet_mnist")'), 'complete');
  });

  it('stops a training run within a step on SIGINT, says where, and stays usable', async () => {
    const code = [
      `const config = lmc.presetConfig('lenet_mnist', 'smoke', { training: '100000it' });`,
      `await lmc.trainFrom(config, { callbacks: [{ everySteps: 1, onStep: ` +
        `(ctx) => { if (ctx.step === 2) console.log('training started'); } }] });`,
    ].join('\n');
    const msgId = await kernel.send('execute_request', {
      code,
      silent: false,
      store_history: true,
      stop_on_error: true,
    });
    await kernel.waitFor(
      (m) =>
        m.parent_header.msg_id === msgId &&
        m.header.msg_type === 'stream' &&
        String(m.content.text).includes('training started'),
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const { reply, seconds } = await kernel.interruptCell(msgId);
    assert.equal(reply.content.status, 'error');
    assert.equal(reply.content.ename, 'TrainingCancelled');
    assert.match(String(reply.content.evalue), /cancelled at step \d+ of 100000/);
    assert.ok(seconds < 3, `the kernel took ${seconds} s to stop training`);
    const next = await kernel.execute('1 + 1');
    assert.equal(next.reply.content.status, 'ok');
    const result = next.outputs.find((m) => m.header.msg_type === 'execute_result');
    assert.deepEqual(result?.content.data, { 'text/plain': '2' });
  });
});
