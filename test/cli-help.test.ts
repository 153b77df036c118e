// `lmc --help` and the README's CLI reference: each command's help comes from its option table,
// and the README's "## CLI" section holds exactly what every command prints, so the two cannot drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMANDS } from '../lib/cli/main';
import { formatHelp, HELP_WIDTH, parserOptions, type OptionTable } from '../lib/cli/options';

const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');
const README = path.resolve(__dirname, '..', '..', 'README.md');

/** What `lmc <args>` prints on stdout, its trailing newline dropped; a non-zero exit fails the test. */
function lmc(args: string[]): string {
  const run = spawnSync(process.execPath, [LMC, ...args], { encoding: 'utf8' });
  assert.equal(run.status, 0, `lmc ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return run.stdout.trimEnd();
}

/** The fenced code blocks of the README's "## CLI" section (up to the next "## " heading). */
function readmeCliBlocks(): string[] {
  const lines = fs.readFileSync(README, 'utf8').split('\n');
  const start = lines.indexOf('## CLI');
  assert.notEqual(start, -1, 'README.md has no "## CLI" section');
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  const blocks: string[] = [];
  let open: string[] | null = null;
  for (const line of lines.slice(start + 1, end === -1 ? undefined : end)) {
    if (line.startsWith('```')) {
      if (open === null) open = [];
      else {
        blocks.push(open.join('\n').trimEnd());
        open = null;
      }
    } else if (open !== null) open.push(line);
  }
  return blocks;
}

/** The README block that documents `lmc <name>`: the one whose first line is that command's usage. */
function readmeBlockOf(blocks: readonly string[], name: string): string | undefined {
  return blocks.find((block) => new RegExp(`^lmc ${name}( |$)`).test(block.split('\n')[0]));
}

const blocks = readmeCliBlocks();

test("the README's CLI section holds `lmc help` exactly as it prints", () => {
  const printed = lmc(['help']);
  const block = blocks.find((b) => b.startsWith('lmc: '));
  assert.ok(block !== undefined, `README.md's CLI section has no block of \`lmc help\`; add one holding:\n${printed}`);
  assert.equal(block, printed, "README.md's `lmc help` block differs from what `lmc help` prints: paste the output");
});

for (const name of Object.keys(COMMANDS)) {
  test(`the README holds \`lmc ${name} --help\` as it prints; \`lmc help ${name}\` prints the same`, () => {
    const printed = lmc([name, '--help']);
    assert.equal(lmc(['help', name]), printed);
    assert.equal(printed, COMMANDS[name].help);
    const block = readmeBlockOf(blocks, name);
    assert.ok(block !== undefined, `README.md's CLI section has no block of lmc ${name}; add one holding:\n${printed}`);
    assert.equal(block, printed, `README.md's block of lmc ${name} differs from its --help: paste that output`);
  });
}

test("every `lmc <command>` block in the README's CLI section is a command that exists", () => {
  for (const block of blocks) {
    const name = /^lmc ([a-z-]+)/.exec(block)?.[1];
    if (name === undefined) continue;
    assert.ok(Object.hasOwn(COMMANDS, name), `README.md documents lmc ${name}, which is no command; remove its block`);
  }
});

test(`every line of every help text fits in ${HELP_WIDTH} characters`, () => {
  for (const [name, command] of Object.entries(COMMANDS)) {
    for (const line of command.help.split('\n')) {
      assert.ok(line.length <= HELP_WIDTH, `lmc ${name} --help: ${line.length} characters: ${line}`);
    }
  }
});

test('help lists the options in table order with placeholder and default, in columns wrapped to the width', () => {
  const table = {
    steps: { type: 'string', value: '<step>', description: 'how far to train', defaultText: 'T' },
    'checkpoint-every': {
      type: 'string',
      value: '<n>',
      description: 'iterations between the checkpoints a run resumes from; not part of its identity',
    },
    json: { type: 'boolean', default: false, description: 'print one JSON object' },
  } as const satisfies OptionTable;
  assert.equal(
    formatHelp({ usage: ['lmc demo [options]'], about: 'Does\na demo.', options: table }, 60),
    [
      'lmc demo [options]',
      '',
      'Does a demo.',
      '',
      'Options:',
      '  --steps <step>          how far to train; default T',
      '  --checkpoint-every <n>  iterations between the checkpoints',
      '                          a run resumes from; not part of',
      '                          its identity',
      '  --json                  print one JSON object',
    ].join('\n'),
  );
});

test("parseArgs gets only each option's type, multiple and default", () => {
  const table = {
    set: { type: 'string', multiple: true, value: 'key=value', description: 'a setting' },
    quiet: { type: 'boolean', default: false, description: 'no progress bars' },
  } as const satisfies OptionTable;
  assert.deepEqual(parserOptions(table), {
    set: { type: 'string', multiple: true },
    quiet: { type: 'boolean', default: false },
  });
});

test('a string option without a placeholder, or a switch with one, is refused naming the option and the fix', () => {
  assert.throws(
    () => parserOptions({ out: { type: 'string', description: 'a folder' } }),
    /option --out: a string option needs a value placeholder, e\.g\. value: '<out>'/,
  );
  const switchWithValue = { json: { type: 'boolean', value: '<x>', description: 'json' } } as const;
  const help = () => formatHelp({ usage: [], about: '', options: switchWithValue });
  assert.throws(help, /option --json: value "<x>" on a switch; a boolean option takes no value, remove it/);
});
