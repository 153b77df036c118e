/**
 * Command-line options as data. Each command declares its options once, in a table: per option
 * its parseArgs type, its value placeholder, its default and a one-line description. The command's
 * parseArgs options (`parserOptions`) and its `--help` text (`formatHelp`) are both derived from
 * that table, so what a command accepts and what its help says are the same list.
 */

/** The width `--help` text wraps at. */
export const HELP_WIDTH = 100;

/** One option: the fields parseArgs reads (type, multiple, default) and the parts of its help line. */
export interface OptionSpec {
  /** parseArgs's type: a flag that takes a value (`string`) or a switch (`boolean`). */
  readonly type: 'string' | 'boolean';
  /** parseArgs: the flag may be repeated, its values collected in an array. */
  readonly multiple?: boolean;
  /** parseArgs's default when the flag is absent (switches whose absence reads as false). */
  readonly default?: boolean;
  /** The value's placeholder in help, e.g. `<step>`; every string option has one, no switch does. */
  readonly value?: string;
  /** What holds when the flag is absent, as help says it after "default". */
  readonly defaultText?: string;
  /** What the option does, one line of prose (help wraps it to the width). */
  readonly description: string;
}

/** A command's options, by long name (without `--`), in the order help lists them. */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** A command's help: its usage line(s), what it does, its options, and what to know after them. */
export interface CommandHelp {
  /** One line per form of the command, e.g. `lmc imp --config <preset> [options]`. */
  readonly usage: readonly string[];
  /** Paragraphs (separated by a blank line), each reflowed to the width. */
  readonly about: string;
  readonly options: OptionTable;
  /** Paragraphs after the options, reflowed like `about`. */
  readonly after?: string;
}

/** `--help`, which every command answers (main.ts prints the command's help before anything runs). */
export const HELP_OPTIONS = {
  help: { type: 'boolean', default: false, description: 'this text' },
} as const satisfies OptionTable;

/** The parseArgs options of a table: each option's type, multiple and default, their literal types kept. */
export type ParserOptions<T extends OptionTable> = {
  -readonly [K in keyof T]: Omit<T[K], 'value' | 'defaultText' | 'description'>;
};

/** The options to hand parseArgs for `table`; throws on a malformed entry (a programming error). */
export function parserOptions<T extends OptionTable>(table: T): ParserOptions<T> {
  return Object.fromEntries(
    Object.entries(table).map(([name, spec]) => {
      const problem = optionProblem(name, spec);
      if (problem !== null) throw new Error(problem);
      // parseArgs refuses a `multiple` or `default` key that is present but undefined.
      const parsed: Record<string, unknown> = { type: spec.type };
      if (spec.multiple !== undefined) parsed.multiple = spec.multiple;
      if (spec.default !== undefined) parsed.default = spec.default;
      return [name, parsed];
    }),
  ) as ParserOptions<T>;
}

/** What is wrong with one option's declaration, or null: a string option names its value, a switch does not. */
export function optionProblem(name: string, spec: OptionSpec): string | null {
  if (spec.type === 'string' && !spec.value) {
    return `option --${name}: a string option needs a value placeholder, e.g. value: '<${name}>'`;
  }
  if (spec.type === 'boolean' && spec.value !== undefined) {
    return (
      `option --${name}: value ${JSON.stringify(spec.value)} on a switch; a boolean option takes no value, ` +
      'remove it'
    );
  }
  if (spec.description.includes('\n')) return `option --${name}: its description is one line; help wraps it`;
  return null;
}

/** The option as help names it: `--rewind <step>`, `--set key=value`, `--json`. */
export function optionLabel(name: string, spec: OptionSpec): string {
  return spec.value === undefined ? `--${name}` : `--${name} ${spec.value}`;
}

/** The option's description as help prints it, with its default after it. */
export function optionText(spec: OptionSpec): string {
  return spec.defaultText === undefined ? spec.description : `${spec.description}; default ${spec.defaultText}`;
}

/** `text` broken at spaces into lines of at most `width` characters (a longer word keeps a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Two columns, left padded to its widest entry, right wrapped so each line fits `width`. */
export function formatColumns(rows: readonly (readonly [string, string])[], width = HELP_WIDTH, indent = 2): string[] {
  const left = Math.max(0, ...rows.map(([label]) => label.length));
  const column = indent + left + 2;
  return rows.flatMap(([label, text]) =>
    wrap(text, Math.max(20, width - column)).map((line, i) =>
      `${' '.repeat(indent)}${(i === 0 ? label : '').padEnd(left)}  ${line}`.trimEnd(),
    ),
  );
}

/** Paragraphs (separated by blank lines) reflowed to `width`, a blank line between them. */
export function formatParagraphs(text: string, width = HELP_WIDTH): string[] {
  return text
    .trim()
    .split(/\n\s*\n/)
    .flatMap((paragraph, i) => [...(i > 0 ? [''] : []), ...wrap(paragraph, width)]);
}

/**
 * The `--help` text of a command: usage, what it does, its options in columns, then `after`. Throws
 * on a malformed option, so a table that would mislead parseArgs or help fails when it is loaded.
 */
export function formatHelp(help: CommandHelp, width = HELP_WIDTH): string {
  const rows = Object.entries(help.options).map(([name, spec]) => {
    const problem = optionProblem(name, spec);
    if (problem !== null) throw new Error(problem);
    return [optionLabel(name, spec), optionText(spec)] as const;
  });
  return [
    ...help.usage,
    '',
    ...formatParagraphs(help.about, width),
    '',
    'Options:',
    ...formatColumns(rows, width),
    ...(help.after === undefined ? [] : ['', ...formatParagraphs(help.after, width)]),
  ].join('\n');
}
