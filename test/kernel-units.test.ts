/**
 * The kernel's pure parts, without starting a kernel: is_complete, history queries, line
 * markers and their mapping back to the cell, error content, message signatures, the
 * kernelspec and the shebang reading of the installer, and the trainer's interrupt signal.
 */
import { describe, it } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { isComplete } from '../kernel/is-complete';
import { calleeEnd } from '../kernel/call-site';
import { globToRegExp, History, SESSION } from '../kernel/history';
import { CellRegistry, cellLineAt, instrument, originalColumn } from '../kernel/cell-lines';
import { compileError, runtimeError } from '../kernel/errors';
import { decode, encode, MessageFactory, Signer, WireError } from '../kernel/wire';
import { crc32, kernelSpec, logoPng, shebangPython } from '../lib/cli/kernel';
import { newDisplayHandle, setOutputSink, type OutputSink } from '../kernel/runtime';
import { presetConfig, setInterruptSignal, trainFrom, TrainingCancelled } from '../lib/train';

describe('is_complete', () => {
  const cases: [string, string][] = [
    ['1 + 1', 'complete'],
    ['const x = 1;', 'complete'],
    ['// only a comment', 'complete'],
    ['function f() {', 'incomplete'],
    ['const xs = [1, 2,', 'incomplete'],
    ['foo(', 'incomplete'],
    ['let y: ', 'incomplete'],
    ['const s = `line one', 'incomplete'],
    ['/* open comment', 'incomplete'],
    ['const = ;', 'invalid'],
    ['1 +* 2', 'invalid'],
    [')', 'invalid'],
    ["const s = 'unterminated", 'invalid'],
    ['1 +* 2; foo(', 'invalid'],
    ['foo(\n\n\n', 'invalid'],
  ];
  for (const [code, status] of cases) {
    it(`${JSON.stringify(code)} is ${status}`, () => assert.equal(isComplete(code).status, status));
  }
  it('indents the next line after an opening bracket', () => {
    assert.equal(isComplete('if (x) {\n  foo({').indent, '    ');
    assert.equal(isComplete('const a = 1 +').indent, '');
  });
});

describe('inspection inside a call', () => {
  it('finds the callee of the innermost open parenthesis before the cursor', () => {
    const at = (code: string, cursor = code.length) => calleeEnd(code, cursor);
    assert.equal(at('lmc.trainFrom('), 'lmc.trainFrom'.length);
    assert.equal(at('lmc.trainFrom(config, '), 'lmc.trainFrom'.length);
    assert.equal(
      at('lmc.trainFrom (config, f(x), '),
      'lmc.trainFrom'.length,
      'a closed inner call and a space before the parenthesis',
    );
    assert.equal(at('lmc.trainFrom(f('), 'lmc.trainFrom(f'.length, 'the innermost open call');
    assert.equal(at('g(a); h'), null, 'the cursor is not inside a call');
    assert.equal(at('const xs = [1, '), null, 'inside brackets, not a call');
    assert.equal(at('(1 + '), null, 'parentheses with no name before them');
    assert.equal(at('lmc.trainFrom(config)', 14), 'lmc.trainFrom'.length, 'the cursor, not the end of the code');
  });
});

describe('history', () => {
  const history = new History();
  const inputs = ['6 * 7', 'const a = 1', '6 * 7', 'a + 1'];
  inputs.forEach((input, i) => history.add({ line: i + 1, input, output: input === 'const a = 1' ? null : String(i) }));

  it('answers tail, range and search like IPython', () => {
    assert.deepEqual(history.query({ hist_access_type: 'tail', n: 2 }), [
      [SESSION, 3, '6 * 7'],
      [SESSION, 4, 'a + 1'],
    ]);
    assert.deepEqual(history.query({ hist_access_type: 'tail', n: 1, output: true }), [[SESSION, 4, ['a + 1', '3']]]);
    assert.deepEqual(history.query({ hist_access_type: 'range', session: SESSION, start: 2, stop: 3 }), [
      [SESSION, 2, 'const a = 1'],
    ]);
    assert.deepEqual(history.query({ hist_access_type: 'range', session: 7, start: 1 }), []);
    assert.equal(history.query({ hist_access_type: 'search', pattern: '6 * 7' }).length, 2);
    assert.deepEqual(history.query({ hist_access_type: 'search', pattern: '6 * 7', unique: true }), [
      [SESSION, 3, '6 * 7'],
    ]);
    assert.deepEqual(history.query({ hist_access_type: 'search', pattern: '*', n: 1 }), [[SESSION, 4, 'a + 1']]);
  });

  it('matches globs against the whole input', () => {
    assert.ok(globToRegExp('a?c').test('abc'));
    assert.ok(!globToRegExp('a?c').test('abcd'));
    assert.ok(globToRegExp('[ab]x*').test('bxyz'));
    assert.ok(!globToRegExp('[^ab]x').test('ax'));
    assert.ok(globToRegExp('f(x).y').test('f(x).y'));
  });
});

describe('line markers', () => {
  const source = 'const a = 1; const b = 2;\nfunction f() {\n  return a + b;\n}\nf()';

  it('mark every statement with its line and leave the code equivalent', () => {
    const cell = instrument(source);
    assert.equal(cell.code.replace(/\/\*@L\d+\*\//g, ''), source);
    assert.deepEqual(
      cell.markers.map((m) => m.line),
      [0, 0, 1, 2, 4],
    );
  });

  it("spell out shorthand properties (an earlier cell's variable in `{ scale }`) and keep columns mappable", () => {
    const cell = instrument('const o = { scale, n: 1, levels };\nconst { a = 2 } = o as any;');
    assert.equal(
      cell.code.replace(/\/\*@L\d+\*\//g, ''),
      'const o = { scale: scale, n: 1, levels: levels };\nconst { a = 2 } = o as any;',
    );
    const column = cell.code.split('\n')[0].indexOf('n: 1');
    assert.equal(originalColumn(cell, 0, column), 'const o = { scale, '.length);
  });

  it('begin a cell that awaits at top level with `await 0;`, and only such a cell', () => {
    assert.equal(instrument('const v = await (await p).y();').code, '/*@L1*/await 0;const v = await (await p).y();');
    assert.equal(
      instrument('async function f() { await g(); }\nf()').code,
      '/*@L1*/async function f() { /*@L1*/await g(); }\n/*@L2*/f()',
    );
    assert.match(instrument('for await (const x of xs) {}').code, /^\/\*@L1\*\/await 0;for await/);
  });

  it('map a column of the instrumented cell back to the cell', () => {
    const cell = instrument(source);
    const column = cell.code.split('\n')[0].indexOf('const b');
    assert.equal(originalColumn(cell, 0, column), source.indexOf('const b'));
  });

  it('find the statement line of a position in the JavaScript', () => {
    const js =
      '(function(exports, require) { /*@L1*/ const a = 1;\n/*@L2*/ function f() {\n' +
      '    /*@L3*/ return a.b.c;\n}\n/*@L5*/ f();\n})(__tslab__.exports, __tslab__.require)';
    assert.equal(cellLineAt(js, 3, 20), 3);
    assert.equal(cellLineAt(js, 5, 9), 5);
    assert.equal(cellLineAt(js, 1, 2), null);
  });
});

describe('error content', () => {
  it('points a thrown error at the cell and line it came from', () => {
    const cells = new CellRegistry();
    cells.add({
      filename: 'In[4]',
      source: 'const x = 1;\nthrow new TypeError("bad")',
      javascript: 'line one /*@L1*/\n/*@L2*/ throw new TypeError("bad");',
    });
    const error = new TypeError('bad');
    error.stack = 'TypeError: bad\n    at In[4]:2:9\n    at Script.runInThisContext (node:vm:137:12)';
    const content = runtimeError(error, cells);
    assert.equal(content.ename, 'TypeError');
    assert.equal(content.evalue, 'bad');
    assert.deepEqual(content.traceback.slice(0, 2), ['TypeError: bad', '    at In[4], line 2']);
    assert.ok(content.traceback.includes('----> 2 | throw new TypeError("bad")'), content.traceback.join('\n'));
  });

  it('reports values that are not errors, and abandoned cells', () => {
    assert.deepEqual(runtimeError('plain', new CellRegistry()).ename, 'Uncaught');
    assert.equal(runtimeError(new Error('Interrupted asynchronously'), new CellRegistry()).ename, 'Interrupted');
    const broken = Object.assign(new Error('Script execution was interrupted by `SIGINT`'), {
      code: 'ERR_SCRIPT_EXECUTION_INTERRUPTED',
    });
    assert.equal(runtimeError(broken, new CellRegistry()).ename, 'Interrupted');
  });

  it('summarises compile errors with line and column', () => {
    const content = compileError(
      [
        { file: '', line: 2, column: 7, message: 'Nope.' },
        { file: '', line: 1, column: 1, message: 'Also.' },
      ],
      'In[9]',
      'a\nconst x = 1',
    );
    assert.equal(content.evalue, 'In[9], line 2, column 7: Nope. (and 1 more)');
    assert.ok(content.traceback.includes('----> 2 | const x = 1'));
  });
});

describe('wire signatures', () => {
  const signer = new Signer('secret');
  const message = new MessageFactory().create('execute_request', { code: '1' }, null, [Buffer.from('peer')]);

  it('round-trips a signed message', () => {
    const decoded = decode(encode(message, signer), signer);
    assert.deepEqual(decoded.content, { code: '1' });
    assert.deepEqual(decoded.identities, [Buffer.from('peer')]);
  });

  it('rejects a wrong key, a tampered part, a missing signature and a missing delimiter', () => {
    const frames = encode(message, new Signer('wrong'));
    assert.throws(() => decode(frames, signer), /invalid HMAC signature/);
    const tampered = encode(message, signer);
    tampered[tampered.length - 1] = Buffer.from('{"code":"2"}');
    assert.throws(() => decode(tampered, signer), WireError);
    const unsigned = encode(message, new Signer(''));
    assert.throws(() => decode(unsigned, signer), /invalid HMAC signature/);
    assert.throws(() => decode([Buffer.from('x')], signer), /delimiter/);
  });

  it('checks the signature before parsing anything', () => {
    const frames = encode(message, new Signer('wrong'));
    frames[frames.length - 1] = Buffer.from('not json');
    assert.throws(() => decode(frames, signer), /invalid HMAC signature/);
  });

  it('refuses signature schemes it cannot compute', () => {
    assert.throws(() => new Signer('k', 'hmac-nosuchhash'), /not supported/);
  });
});

describe('kernelspec', () => {
  it('runs this node and the launcher by absolute path, interrupting with a signal', () => {
    const spec = kernelSpec('/opt/lmc/dist/kernel/launcher.js', '/usr/bin/node');
    assert.deepEqual(spec.argv, ['/usr/bin/node', '/opt/lmc/dist/kernel/launcher.js', '{connection_file}']);
    assert.equal(spec.display_name, 'TypeScript (lmc-lab)');
    assert.equal(spec.interrupt_mode, 'signal');
    assert.equal(spec.language, 'typescript');
  });

  it('reads the Python of a jupyter script from its shebang', () => {
    assert.deepEqual(shebangPython('#!/usr/bin/python3\nimport sys'), ['/usr/bin/python3']);
    assert.deepEqual(shebangPython('#!/usr/bin/env python3\n'), ['python3']);
    assert.deepEqual(shebangPython(`#!/bin/sh\n'''exec' "/very/long/env/bin/python3" "$0" "$@"\n' '''`), [
      '/very/long/env/bin/python3',
    ]);
    assert.equal(shebangPython('\x7fELF...'), null);
    assert.equal(shebangPython('#!/usr/bin/env bash\nexec pyenv ...'), null);
  });

  it('draws a 64x64 logo with a valid PNG CRC', () => {
    assert.equal(crc32(Buffer.from('IEND')), 0xae426082);
    const png = logoPng(64);
    assert.equal(png.readUInt32BE(16), 64);
    assert.equal(png.readUInt32BE(20), 64);
  });
});

describe('interrupt signal', () => {
  it('stops trainFrom even when the caller passes a signal of its own', async () => {
    const interrupt = new AbortController();
    interrupt.abort();
    setInterruptSignal(interrupt.signal);
    try {
      const run = trainFrom(presetConfig('lenet_mnist', 'smoke'), { to: 5, signal: new AbortController().signal });
      await assert.rejects(run, (err: unknown) => err instanceof TrainingCancelled && err.step === 0);
    } finally {
      setInterruptSignal(undefined);
    }
  });
});

describe('display handles', () => {
  type Sent = { id: string | undefined; update: boolean; text: unknown; cell: number };
  const sinkFor = (cell: number, sent: Sent[]): OutputSink => ({
    display: (content, update) =>
      sent.push({ id: content.transient.display_id, update, text: content.data['text/plain'], cell }),
    clearOutput: () => undefined,
  });

  it('replace one output wherever it is, or with followCells start a fresh output in each new cell', () => {
    const sent: Sent[] = [];
    const plain = newDisplayHandle();
    const following = newDisplayHandle({ followCells: true });
    try {
      setOutputSink(sinkFor(1, sent));
      plain.update({ 'text/plain': 'a' });
      following.update({ 'text/plain': 'a' });
      following.update({ 'text/plain': 'b' });
      setOutputSink(sinkFor(2, sent));
      plain.update({ 'text/plain': 'c' });
      following.update({ 'text/plain': 'c' });
      following.update({ 'text/plain': 'd' });
    } finally {
      setOutputSink(null);
    }
    const ofPlain = sent.filter((s) => s.id === plain.displayId);
    assert.deepEqual(
      ofPlain.map((s) => [s.cell, s.update]),
      [
        [1, false],
        [2, true],
      ],
      'the plain handle updates its first output from cell 2',
    );
    const ofFollowing = sent.filter((s) => s.id !== plain.displayId);
    assert.deepEqual(
      ofFollowing.map((s) => [s.cell, s.update, s.text]),
      [
        [1, false, 'a'],
        [1, true, 'b'],
        [2, false, 'c'],
        [2, true, 'd'],
      ],
    );
    assert.equal(new Set(ofFollowing.filter((s) => s.cell === 1).map((s) => s.id)).size, 1);
    assert.notEqual(ofFollowing[0].id, ofFollowing[2].id, 'a new display_id in the new cell');
    assert.equal(following.displayId, ofFollowing[3].id);
  });
});

describe('orphaned kernel', () => {
  const launcher = path.resolve(__dirname, '..', 'kernel', 'launcher.js');
  const script = (marker: string) =>
    `const { exitWithParent } = require(${JSON.stringify(launcher)});` +
    `exitWithParent(100, (code) => { require('fs').writeFileSync(${JSON.stringify(marker)}, 'exited'); ` +
    `process.exit(code); });` +
    'setInterval(() => {}, 1000);';

  it('exits once the process named by JPY_PARENT_PID is gone, and not before', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-orphan-'));
    try {
      // A live parent (this test): the child keeps running.
      const kept = path.join(dir, 'kept');
      const child = spawn(process.execPath, ['-e', script(kept)], {
        stdio: 'ignore',
        env: { ...process.env, JPY_PARENT_PID: String(process.pid) },
      });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(fs.existsSync(kept), false, 'exited while its parent was alive');
      assert.equal(child.exitCode, null);
      child.kill();
      // A shell that starts it in the background and exits at once: the kernel is orphaned.
      const orphan = path.join(dir, 'orphan');
      fs.writeFileSync(path.join(dir, 'orphan.js'), script(orphan));
      spawnSync('sh', [
        '-c',
        `JPY_PARENT_PID=$$ "${process.execPath}" "${path.join(dir, 'orphan.js')}" >/dev/null 2>&1 &`,
      ]);
      const deadline = Date.now() + 10_000;
      while (!fs.existsSync(orphan) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(fs.existsSync(orphan), true, 'the orphaned kernel did not exit within 10 s');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
