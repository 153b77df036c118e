/**
 * arquero tables in notebooks: an HTML table with each column's inferred type under its name,
 * numbers to a fixed number of significant digits and right-aligned, the first rows only and a
 * "... M more rows" line; aligned text for plain-text front ends.
 */
import { MIME_BUNDLE, registerDisplay, type Displayable, type MimeBundle } from './bundle';
import { escapeHtml, formatNumber, pad, truncate } from './format';

/**
 * The part of an arquero table display reads. Recognised by shape rather than `instanceof`, so a
 * table from any copy of arquero (the kernel's, a notebook's own import, ESM or CommonJS) works.
 */
export interface TableLike {
  numRows(): number;
  numCols(): number;
  columnNames(): string[];
  /** A row accessor that honours the table's filter and order. */
  getter(name: string): (row: number) => unknown;
  isGrouped?(): boolean;
  groups?(): { names: string[] } | null;
}

/** A column's kind, inferred from its values (null: every value missing; mixed: several kinds). */
export type ColumnType = 'integer' | 'number' | 'string' | 'boolean' | 'date' | 'object' | 'null' | 'mixed';

/** Options of `tableBundle`. */
export interface TableDisplayOptions {
  /** Rows shown (default 20). */
  limit?: number;
  /** Significant digits of non-integer numbers (default 4). */
  digits?: number;
  /** Longest text shown in a cell before it is cut (default 60). */
  maxChars?: number;
  /** Rows read to infer column types (default 10,000; the whole table when smaller). */
  inferRows?: number;
}

const DEFAULTS = { limit: 20, digits: 4, maxChars: 60, inferRows: 10000 };

/** True for arquero tables (and anything else with their shape). */
export function isArqueroTable(value: unknown): value is TableLike {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  return ['numRows', 'numCols', 'columnNames', 'getter', 'objects', 'column'].every((m) => typeof t[m] === 'function');
}

/** The type of a column from its values (missing values, null/undefined, are skipped). */
export function inferColumnType(values: Iterable<unknown>): ColumnType {
  let found: ColumnType | undefined;
  for (const value of values) {
    const kind = valueType(value);
    if (kind === 'null') continue;
    if (found === undefined || found === kind) found = kind;
    else if ((found === 'integer' && kind === 'number') || (found === 'number' && kind === 'integer')) found = 'number';
    else return 'mixed';
  }
  return found ?? 'null';
}

/** The type of one value. */
function valueType(value: unknown): ColumnType {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (value instanceof Date) return 'date';
  return 'object';
}

/** The text of one cell. */
export function formatCell(value: unknown, digits = DEFAULTS.digits, maxChars = DEFAULTS.maxChars): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return formatNumber(value, digits);
  if (typeof value === 'bigint') return String(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return 'Invalid Date';
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof value === 'string') return truncate(value, maxChars);
  if (ArrayBuffer.isView(value))
    return truncate(`[${Array.from(value as unknown as ArrayLike<number>).join(', ')}]`, maxChars);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(text, maxChars);
}

/** What a table display shows: column names and types, the first rows as text, the count left out. */
interface TableView {
  names: string[];
  types: ColumnType[];
  /** Cells as text, row-major. */
  cells: string[][];
  /** Per cell: whether it is right-aligned (numbers, and nulls of number columns) and missing. */
  numeric: boolean[][];
  missing: boolean[][];
  rows: number;
  hidden: number;
  groupedBy: string[];
}

/** Reads what a display shows from a table. */
function viewOf(table: TableLike, options: TableDisplayOptions): TableView {
  const { limit, digits, maxChars, inferRows } = { ...DEFAULTS, ...options };
  const names = table.columnNames();
  const rows = table.numRows();
  const shown = Math.max(0, Math.min(rows, limit));
  const getters = names.map((n) => table.getter(n));
  const types = getters.map((get) => inferColumnType(rowValues(get, Math.min(rows, Math.max(inferRows, shown)))));
  const cells: string[][] = [];
  const numeric: boolean[][] = [];
  const missing: boolean[][] = [];
  const numericColumn = types.map((t) => t === 'integer' || t === 'number');
  for (let r = 0; r < shown; r++) {
    const values = getters.map((get) => get(r));
    cells.push(values.map((v) => formatCell(v, digits, maxChars)));
    // Missing values in a number column align with the numbers.
    numeric.push(
      values.map(
        (v, c) =>
          typeof v === 'number' || typeof v === 'bigint' || ((v === null || v === undefined) && numericColumn[c]),
      ),
    );
    missing.push(values.map((v) => v === null || v === undefined));
  }
  const groupedBy = table.isGrouped?.() ? (table.groups?.()?.names ?? []) : [];
  return { names, types, cells, numeric, missing, rows, hidden: rows - shown, groupedBy };
}

/** The first `count` values of a column accessor. */
function* rowValues(get: (row: number) => unknown, count: number): Generator<unknown> {
  for (let r = 0; r < count; r++) yield get(r);
}

/** "... 80 more rows (100 rows × 3 columns)" or "100 rows × 3 columns", plus grouping. */
function footer(view: TableView): string {
  const size =
    `${view.rows} row${view.rows === 1 ? '' : 's'} × ${view.names.length} ` +
    `column${view.names.length === 1 ? '' : 's'}`;
  const groups = view.groupedBy.length > 0 ? `, grouped by ${view.groupedBy.join(', ')}` : '';
  return view.hidden > 0
    ? `... ${view.hidden} more row${view.hidden === 1 ? '' : 's'} (${size}${groups})`
    : `${size}${groups}`;
}

const TH = 'padding:2px 8px;border-bottom:1px solid #888;vertical-align:bottom;';
const TD = 'padding:2px 8px;';

/** The HTML of a table (every name and value escaped). */
export function tableHtml(table: TableLike, options: TableDisplayOptions = {}): string {
  const view = viewOf(table, options);
  const head = view.names
    .map((name, c) => {
      const align = view.types[c] === 'integer' || view.types[c] === 'number' ? 'right' : 'left';
      return (
        `<th style="${TH}text-align:${align};">${escapeHtml(name)}<br><span ` +
        `style="font-weight:normal;color:#888;font-size:85%;">${view.types[c]}</span></th>`
      );
    })
    .join('');
  const body = view.cells
    .map((row, r) => {
      const tds = row.map((text, c) => {
        const align = view.numeric[r][c] ? 'right' : 'left';
        const style = `${TD}text-align:${align};${view.missing[r][c] ? 'color:#aaa;' : ''}`;
        return `<td style="${style}">${escapeHtml(text)}</td>`;
      });
      return `<tr>${tds.join('')}</tr>`;
    })
    .join('');
  return (
    '<div class="lmc-table">' +
    '<table style="border-collapse:collapse;font-variant-numeric:tabular-nums;">' +
    `<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>` +
    `<div style="color:#666;font-size:90%;margin-top:4px;">${escapeHtml(footer(view))}</div>` +
    '</div>'
  );
}

/** The table as aligned plain text: names, types, a rule, the first rows, the footer. */
export function tableText(table: TableLike, options: TableDisplayOptions = {}): string {
  const view = viewOf(table, { maxChars: 40, ...options });
  if (view.names.length === 0) return footer(view);
  const widths = view.names.map((name, c) =>
    Math.max(name.length, view.types[c].length, ...view.cells.map((row) => row[c].length)),
  );
  const line = (texts: string[], right: (c: number) => boolean) =>
    texts
      .map((t, c) => pad(t, widths[c], right(c) ? 'right' : 'left'))
      .join('  ')
      .trimEnd();
  const numericColumn = (c: number) => view.types[c] === 'integer' || view.types[c] === 'number';
  return [
    line(view.names, numericColumn),
    line(view.types, numericColumn),
    line(
      widths.map((w) => '-'.repeat(w)),
      () => false,
    ),
    ...view.cells.map((row, r) => line(row, (c) => view.numeric[r][c])),
    footer(view),
  ].join('\n');
}

/** The MIME bundle of a table (HTML and plain text). */
export function tableBundle(table: TableLike, options: TableDisplayOptions = {}): MimeBundle {
  return { 'text/html': tableHtml(table, options), 'text/plain': tableText(table, options) };
}

/** A table shown with options (more rows, other digits): `tableView(t, {limit: 100})`. */
export function tableView(table: TableLike, options: TableDisplayOptions = {}): Displayable {
  return { [MIME_BUNDLE]: () => tableBundle(table, options) };
}

registerDisplay(isArqueroTable, (value) => tableBundle(value as TableLike));
