/**
 * The display protocol: any object can say how it wants to be shown by implementing a method
 * under the well-known symbol `MIME_BUNDLE`, returning a Jupyter MIME bundle
 * ({'text/html': ..., 'text/plain': ...}). The kernel uses it for a cell's last value and for
 * `display(x)`; reports use it for their pages.
 */
import { inspect } from 'node:util';

/** The well-known symbol (shared across copies of the library through the global registry). */
export const MIME_BUNDLE: unique symbol = Symbol.for('lmc-lab.mimeBundle') as never;

/** A Jupyter MIME bundle: mime type -> data (strings, or JSON for JSON mime types). */
export type MimeBundle = Record<string, unknown>;

/** An object that renders itself. */
export interface Displayable {
  [MIME_BUNDLE](): MimeBundle;
}

/** Converters for values that cannot carry the symbol themselves (tensors, arquero tables). */
const converters: { test: (value: unknown) => boolean; toBundle: (value: unknown) => MimeBundle }[] = [];

/** Registers how to display values of a kind that cannot implement MIME_BUNDLE itself. */
export function registerDisplay(test: (value: unknown) => boolean, toBundle: (value: unknown) => MimeBundle): void {
  converters.unshift({ test, toBundle });
}

/** True when `value` implements the display protocol. */
export function isDisplayable(value: unknown): value is Displayable {
  return (
    typeof value === 'object' && value !== null && typeof (value as Record<symbol, unknown>)[MIME_BUNDLE] === 'function'
  );
}

/** The MIME bundle of any value: its own, a registered converter's, or util.inspect text. */
export function toMimeBundle(value: unknown): MimeBundle {
  if (isDisplayable(value)) return value[MIME_BUNDLE]();
  for (const c of converters) if (c.test(value)) return c.toBundle(value);
  return { 'text/plain': typeof value === 'string' ? value : inspect(value, { depth: 4, colors: false }) };
}
