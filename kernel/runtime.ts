/**
 * What the kernel puts in every cell's scope besides the libraries: `display(value)`,
 * `newDisplayHandle()` and `clearOutput()`. The init cell imports this module by its absolute
 * path, so the launcher and the cells share one instance: the launcher points `setOutputSink` at
 * the running cell, and these functions write to it.
 *
 * A `DisplayHandle` is the kernel's handle on one output area, replaced in place through its
 * display_id (`update_display_data`). It is structurally the `DisplayHandle` of lib/display, so
 * `lmc.display.notebookProgress(newDisplayHandle())` draws a progress display that moves during training.
 */
import { randomBytes } from 'node:crypto';
import { toMimeBundle, type MimeBundle } from '../lib/display/bundle';

/** Where display output goes: the running (or last) cell's iopub stream. Set by the kernel. */
export interface OutputSink {
  /** Sends display_data (or update_display_data when `update`) with this content. */
  display(
    content: { data: MimeBundle; metadata: Record<string, unknown>; transient: { display_id?: string } },
    update: boolean,
  ): void;
  /** Sends clear_output. */
  clearOutput(wait: boolean): void;
}

let sink: OutputSink | null = null;

/** Points display output at the running cell (the kernel calls this; cells do not). */
export function setOutputSink(next: OutputSink | null): void {
  sink = next;
}

function currentSink(): OutputSink {
  if (!sink) throw new Error('display: no cell is running in an lmc-lab kernel, so there is nowhere to show output');
  return sink;
}

/** One output area that can be replaced in place. */
export interface DisplayHandle {
  /** The Jupyter display_id: every update replaces the output that carries it. */
  readonly displayId: string;
  /** Replaces the output with this MIME bundle (the first call of an empty handle creates it). */
  update(bundle: MimeBundle): void;
  /** Replaces the output with `value`, shown through its own MIME bundle (see lmc's MIME_BUNDLE). */
  show(value: unknown): void;
}

class KernelDisplayHandle implements DisplayHandle {
  private id = randomBytes(8).toString('hex');
  private home: OutputSink | null = null;

  constructor(
    private shown: boolean,
    private readonly followCells = false,
  ) {}

  get displayId(): string {
    return this.id;
  }

  update(bundle: MimeBundle): void {
    const sink = currentSink();
    // Following cells: the first update from a new cell starts a fresh output there (a new display_id).
    if (this.followCells && this.shown && sink !== this.home) {
      this.id = randomBytes(8).toString('hex');
      this.shown = false;
    }
    // A handle updated from a later cell still replaces its output: frontends match display_id, not the cell.
    sink.display({ data: bundle, metadata: {}, transient: { display_id: this.id } }, this.shown);
    this.shown = true;
    this.home = sink;
  }

  show(value: unknown): void {
    this.update(toMimeBundle(value));
  }
}

/** True for a handle (a cell whose last value is one shows nothing more: the output is the display itself). */
export function isDisplayHandle(value: unknown): value is DisplayHandle {
  return value instanceof KernelDisplayHandle;
}

/**
 * Shows `value` with its rich MIME bundle (its own, through lmc's MIME_BUNDLE, or a registered
 * converter's, or text) and returns a handle that replaces this output in place.
 */
export function display(value: unknown): DisplayHandle {
  const handle = new KernelDisplayHandle(false);
  handle.show(value);
  return handle;
}

/** Options of `newDisplayHandle`. */
export interface DisplayHandleOptions {
  /**
   * Show each update in the cell that is running: the handle's output moves to a new output area
   * when a later cell first updates it (for a progress display made once and used by many cells).
   * Default false: every update replaces the one output wherever it is.
   */
  followCells?: boolean;
}

/** A handle on an output area that appears at its first update: the target of a progress display. */
export function newDisplayHandle(options: DisplayHandleOptions = {}): DisplayHandle {
  return new KernelDisplayHandle(false, options.followCells === true);
}

/** Clears the cell's output; with `wait`, only when the next output arrives (no flicker when redrawing). */
export function clearOutput(wait = false): void {
  currentSink().clearOutput(wait);
}
