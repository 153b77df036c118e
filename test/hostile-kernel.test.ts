/**
 * Hostile input, part 3: the kernel, as a notebook user meets it. Errors thrown outside a cell's
 * await chain, busy loops, an interrupt while TypeScript compiles, and outputs too large for a
 * browser: each is shown in the cell that caused it (or the next), the kernel process lives on,
 * and a variable set before it keeps its value.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestKernel } from './fixtures/kernel/client';
import type { Message } from '../kernel/wire';

/** The text/plain of the execute_result among `outputs`. */
function resultText(outputs: Message[]): unknown {
  return outputs.find((m) => m.header.msg_type === 'execute_result')?.content.data;
}

/** Every stream text among `outputs`, joined, and how many stream messages carried it. */
function streamed(outputs: Message[]): { text: string; messages: number } {
  const streams = outputs.filter((m) => m.header.msg_type === 'stream');
  return { text: streams.map((m) => String(m.content.text)).join(''), messages: streams.length };
}

describe('hostile input: the kernel', { timeout: 600_000 }, () => {
  let kernel: TestKernel;
  before(async () => {
    kernel = await TestKernel.start({ env: { LMC_KERNEL_TEXT_LIMIT_MB: '1', LMC_KERNEL_DISPLAY_LIMIT_MB: '8' } });
    assert.equal((await kernel.execute('const survivor = 41')).reply.content.status, 'ok');
  });
  after(async () => {
    await kernel?.stop();
  });

  /** The kernel lives and `survivor` is still 41. */
  async function assertSurvived(after: string): Promise<void> {
    const next = await kernel.execute('survivor + 1');
    assert.equal(next.reply.content.status, 'ok', `after ${after}`);
    assert.deepEqual(resultText(next.outputs), { 'text/plain': '42' }, `after ${after}`);
    assert.equal(kernel.child.exitCode, null, 'the kernel process is alive');
  }

  const asyncErrors = [
    {
      name: 'an exception thrown from a timer',
      code: `setTimeout(() => { throw new Error('from a timer') }, 300)`,
      evalue: 'from a timer',
    },
    {
      name: 'a rejected promise nobody awaited',
      code: `Promise.reject(new Error('nobody awaited this'))`,
      evalue: 'nobody awaited this',
    },
    {
      name: 'a failing training started without await',
      code: `lmc.trainFrom({ ...lmc.presetConfig('lenet_mnist', 'smoke'), lr: -1 });\n'started'`,
      evalue: 'lr = -1 is invalid',
    },
    {
      name: "an 'error' event with no listener",
      code:
        `const { EventEmitter } = require('events');\n` +
        `setTimeout(() => new EventEmitter().emit('error', new Error('nobody listens')), 100)`,
      evalue: 'nobody listens',
    },
  ];
  for (const { name, code, evalue } of asyncErrors) {
    it(`${name}: shown as an error output in the cell, the kernel and its variables kept`, async () => {
      const msgId = await kernel.send('execute_request', {
        code,
        silent: false,
        store_history: true,
        stop_on_error: true,
      });
      const reply = await kernel.reply(msgId, 30_000);
      assert.equal(reply.content.status, 'ok', `${code}: the cell itself ran`);
      const error = await kernel.waitFor(
        (m) => m.parent_header.msg_id === msgId && m.header.msg_type === 'error',
        10_000,
      );
      assert.ok(String(error.content.evalue).includes(evalue), `${code}: ${JSON.stringify(error.content)}`);
      assert.ok((error.content.traceback as string[]).some((l) => /the kernel and its variables are intact/.test(l)));
      await assertSurvived(name);
    });
  }

  const loops = [
    ['after an await', `await 0; while (true) {}`],
    ['before any await', `while (true) {}`],
  ];
  for (const [where, code] of loops) {
    it(`a busy loop ${where} stops within 3 s of an interrupt`, async (t) => {
      const msgId = await kernel.send('execute_request', {
        code,
        silent: false,
        store_history: true,
        stop_on_error: true,
      });
      // Nothing leaves the kernel while it loops, not even execute_input: give it time to compile and start.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const { reply, seconds } = await kernel.interruptCell(msgId);
      assert.equal(reply.content.status, 'error');
      assert.equal(reply.content.ename, 'Interrupted', JSON.stringify(reply.content));
      assert.ok(seconds < 3, `the kernel took ${seconds} s to stop the loop`);
      t.diagnostic(`busy loop ${where} stopped ${seconds.toFixed(2)} s after the interrupt`);
      await assertSurvived(`a busy loop ${where}`);
    });
  }

  it('an interrupt during TypeScript compilation stops the next busy loop within 3 s of it finishing', async (t) => {
    // Template-literal unions the type checker takes seconds over; each cell gets fresh names.
    const slow = (tag: string) =>
      [
        `type D${tag} = '0'|'1'|'2'|'3'|'4'|'5'|'6'|'7'|'8'|'9';`,
        `type N${tag} = \`\${D${tag}}\${D${tag}}\${D${tag}}\${D${tag}}\`;`,
        `const slow${tag} = (x: Exclude<N${tag}, \`\${D${tag}}\${D${tag}}\${D${tag}}1\`>): N${tag} => x;`,
      ].join('\n');
    const started = Date.now();
    assert.equal((await kernel.execute(`${slow('a')}\n0`)).reply.content.status, 'ok');
    const compileSeconds = (Date.now() - started) / 1000;
    const msgId = await kernel.send('execute_request', {
      code: `${slow('b')}\nwhile (true) {}`,
      silent: false,
      store_history: true,
      stop_on_error: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { reply, seconds } = await kernel.interruptCell(msgId, 60_000);
    assert.equal(reply.content.ename, 'Interrupted', JSON.stringify(reply.content));
    assert.ok(
      seconds < compileSeconds + 3,
      `stopped ${seconds} s after the interrupt; the cell compiles in about ${compileSeconds} s`,
    );
    t.diagnostic(
      `interrupt during a ${compileSeconds.toFixed(1)} s compile: stopped ${seconds.toFixed(2)} s after the interrupt`,
    );
    await assertSurvived('an interrupt during compilation');
  });

  it('50 MB printed at once: the first 1 MB shown, the rest counted, the kernel responsive', async () => {
    const { reply, outputs } = await kernel.execute(`console.log('x'.repeat(50_000_000))`);
    assert.equal(reply.content.status, 'ok');
    const { text, messages } = streamed(outputs);
    assert.ok(text.length >= 2 ** 20 && text.length < 2 ** 20 + 2000, `${text.length} characters sent`);
    assert.match(
      text,
      new RegExp(
        /this cell printed more than 1\.0 MB of text; /.source +
          /the rest is counted, not shown \(write large output to a file, or raise LMC_KERNEL_TEXT_LIMIT_MB\)/.source,
      ),
    );
    assert.match(text, /\[lmc-lab\] 46\.\d MB more \(1 lines\) of this cell's text were not shown/);
    assert.ok(messages <= 4, `${messages} stream messages`);
    await assertSurvived('50 MB of text');
  });

  it('200,000 console.log lines arrive as a few stream messages, not 200,000', async () => {
    const { reply, outputs } = await kernel.execute(`for (let i = 0; i < 200_000; i++) console.log('line ' + i)`);
    assert.equal(reply.content.status, 'ok');
    const { text, messages } = streamed(outputs);
    assert.ok(text.startsWith('line 0\nline 1\nline 2\n'), 'in order, from the first line');
    assert.ok(messages < 50, `${messages} stream messages`);
    assert.match(text, /more \([\d,]+ lines\) of this cell's text were not shown/);
    await assertSurvived('200,000 lines');
  });

  it("a 20 MB string as the cell's value is replaced by a note naming its size and the setting", async () => {
    const { reply, outputs } = await kernel.execute(`'y'.repeat(20_000_000)`);
    assert.equal(reply.content.status, 'ok');
    const data = resultText(outputs) as Record<string, string>;
    assert.deepEqual(Object.keys(data), ['text/plain']);
    assert.match(
      data['text/plain'],
      new RegExp(
        /the cell's value of 19\.1 MB \(text\/plain\) was not sent: /.source +
          /over the 1\.0 MB limit per output \(LMC_KERNEL_TEXT_LIMIT_MB\)/.source,
      ),
    );
    await assertSurvived('a 20 MB value');
  });

  it('a 12 MB HTML display is replaced by a note; a display under the limit arrives whole', async () => {
    const bundle = (html: string, plain: string) =>
      `display({ [Symbol.for('lmc-lab.mimeBundle')]: () => ({ 'text/html': ${html}, 'text/plain': '${plain}' }) })`;
    const { outputs } = await kernel.execute(
      `${bundle(`'<b>' + 'z'.repeat(12_000_000) + '</b>'`, 'big')};\n${bundle(`'<i>small</i>'`, 'small')}`,
    );
    const displays = outputs
      .filter((m) => m.header.msg_type === 'display_data')
      .map((m) => m.content.data as Record<string, string>);
    assert.equal(displays.length, 2);
    assert.match(
      displays[0]['text/plain'],
      new RegExp(
        /a display of 11\.4 MB \(text\/html, text\/plain\) was not sent: /.source +
          /over the 8\.0 MB limit per output \(LMC_KERNEL_DISPLAY_LIMIT_MB\)/.source,
      ),
    );
    assert.deepEqual(displays[1], { 'text/html': '<i>small</i>', 'text/plain': 'small' });
    await assertSurvived('a 12 MB display');
  });

  it("a malformed kernel setting is named on the first cell's stderr; the kernel serves with the default", async () => {
    const other = await TestKernel.start({ env: { LMC_KERNEL_TEXT_LIMIT_MB: 'lots' } });
    try {
      const first = await other.execute('1 + 1');
      assert.equal(first.reply.content.status, 'ok');
      assert.match(
        streamed(first.outputs).text,
        new RegExp(
          /the environment variable LMC_KERNEL_TEXT_LIMIT_MB="lots": /.source +
            /give a decimal number of MiB from 0\.001 to 1024 .*; using 1 until it is fixed and the kernel restarted/
              .source,
        ),
      );
      assert.deepEqual(resultText(first.outputs), { 'text/plain': '2' });
      assert.equal(streamed((await other.execute('2 + 2')).outputs).text, '', 'said once');
    } finally {
      await other.stop();
    }
  });
});
