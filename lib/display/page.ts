/**
 * Self-contained offline HTML pages of figures, tables and text: plotly.js embedded once in the
 * head, every figure drawn from it. The report builder writes these next to its results.
 */
import { toMimeBundle } from './bundle';
import { figureHtml, isFigure, type Figure } from './figure';
import { escapeHtml } from './format';
import { plotlyScriptTag } from './plotly-js';

/** A titled part of a page: a heading, prose, then items shown one below the other. */
export interface PageSection {
  /** Heading of the section (plain text). */
  title?: string;
  /** Paragraphs of plain text (escaped; blank lines separate paragraphs). */
  text?: string;
  /** Raw HTML placed after the text (trusted: not escaped). */
  html?: string;
  /** Figures, tables, tensors, or anything with a MIME bundle. */
  items?: readonly unknown[];
}

/** Options of `figureToHtmlPage`. */
export interface HtmlPageOptions {
  /** The page title (<title> and a top heading). */
  title?: string;
  /** Text under the top heading (escaped). */
  subtitle?: string;
}

const PAGE_STYLE = `
body {
  font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222;
}
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.lmc-item { margin: 1em 0; } pre { background: #f6f8fa; padding: .6em; overflow-x: auto; }
`;

/**
 * One offline HTML page from figures or sections: plotly.js is embedded once (only when a figure
 * is present) and no script is loaded from the network. Independent of the notebook session's
 * plotly.js inclusion flag.
 */
export function figureToHtmlPage(content: readonly (Figure | PageSection)[], options: HtmlPageOptions = {}): string {
  const sections: PageSection[] = content.map((part) => (isFigure(part) ? { items: [part] } : (part as PageSection)));
  const hasFigure = sections.some((s) => (s.items ?? []).some(isFigure));
  const body = sections.map(sectionHtml).join('\n');
  const title = options.title ?? 'lmc-lab';
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${PAGE_STYLE}</style>`,
    hasFigure ? plotlyScriptTag() : '',
    '</head><body>',
    options.title ? `<h1>${escapeHtml(options.title)}</h1>` : '',
    options.subtitle ? paragraphs(options.subtitle) : '',
    body,
    '</body></html>',
    '',
  ].join('\n');
}

/** The HTML of one section. */
function sectionHtml(section: PageSection): string {
  const parts: string[] = ['<section>'];
  if (section.title) parts.push(`<h2>${escapeHtml(section.title)}</h2>`);
  if (section.text) parts.push(paragraphs(section.text));
  if (section.html) parts.push(section.html);
  for (const item of section.items ?? []) parts.push(`<div class="lmc-item">${itemHtml(item)}</div>`);
  parts.push('</section>');
  return parts.join('\n');
}

/** The HTML of one item: figures without the library (the head has it), others by their bundle. */
export function itemHtml(item: unknown): string {
  if (isFigure(item)) return figureHtml(item, { includePlotly: false });
  const bundle = toMimeBundle(item);
  if (typeof bundle['text/html'] === 'string') return bundle['text/html'];
  if (typeof bundle['image/svg+xml'] === 'string') return bundle['image/svg+xml'];
  if (typeof bundle['image/png'] === 'string') return `<img src="data:image/png;base64,${bundle['image/png']}">`;
  return `<pre>${escapeHtml(String(bundle['text/plain'] ?? ''))}</pre>`;
}

/** Plain text as escaped <p> paragraphs (blank lines separate them). */
function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `<p>${escapeHtml(p)}</p>`)
    .join('\n');
}
