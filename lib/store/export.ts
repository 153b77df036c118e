/**
 * Result tables out of the library: CSV (spreadsheets), JSON (row objects, for scripts) and Arrow
 * IPC file format (pandas/pyarrow `read_feather`, polars, DuckDB: typed and lossless). The
 * conversions are arquero's own; this module only fixes the options and writes atomically.
 * It takes any object with arquero's methods rather than importing arquero, so the store stays
 * loadable (and fast to start) in processes that never touch a table.
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic-write';
import { StoreError, ioError } from './errors';
import { ensureDir } from './layout';

/** The part of an arquero ColumnTable (arquero 8) that export needs. */
export interface ExportableTable {
  toCSV(options?: object): string;
  toJSON(options?: object): string;
  toArrowIPC(options?: { format?: 'stream' | 'file' }): Uint8Array;
}

/** A table file format. */
export type TableFormat = 'csv' | 'json' | 'arrow';

/** Every format, in the order files are written. */
export const TABLE_FORMATS: readonly TableFormat[] = ['csv', 'json', 'arrow'];

function isExportable(table: unknown): table is ExportableTable {
  const t = table as ExportableTable;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.toCSV === 'function' &&
    typeof t.toJSON === 'function' &&
    typeof t.toArrowIPC === 'function'
  );
}

/** The bytes of a table in one format. JSON is an array of row objects (NaN becomes null, as JSON requires). */
export function tableBytes(table: ExportableTable, format: TableFormat): Uint8Array {
  if (!isExportable(table))
    throw new StoreError(
      'INVALID_NAME',
      `exportTable: expected an arquero table (with toCSV, toJSON, toArrowIPC), ` +
        `got ${table === null ? 'null' : typeof table}`,
    );
  switch (format) {
    case 'csv':
      return Buffer.from(table.toCSV());
    case 'json':
      return Buffer.from(`${table.toJSON()}\n`);
    case 'arrow':
      // The IPC *file* format (magic "ARROW1", random access) is what .arrow/.feather readers expect.
      return table.toArrowIPC({ format: 'file' });
    default:
      throw new StoreError(
        'INVALID_NAME',
        `exportTable: unknown format ${JSON.stringify(format)}; use one of ${TABLE_FORMATS.join(', ')}`,
      );
  }
}

/**
 * Writes a table as `<base>.csv`, `<base>.json` and `<base>.arrow` (or the formats asked for), each
 * atomically. `base` is a path without extension. Returns the files written.
 */
export async function exportTable(
  table: ExportableTable,
  base: string,
  formats: readonly TableFormat[] = TABLE_FORMATS,
): Promise<string[]> {
  const files: string[] = [];
  await ensureDir(path.dirname(base));
  for (const format of formats) {
    const bytes = tableBytes(table, format);
    const file = `${base}.${format}`;
    try {
      await writeFileAtomic(file, bytes);
    } catch (e) {
      throw ioError(file, `exporting the table as ${format}`, e);
    }
    files.push(file);
  }
  return files;
}
