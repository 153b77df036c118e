/**
 * A Table 1 row with its data, for notebooks: `presetData(name, scale)` loads the preset's config
 * and dataset, or, when the dataset is not on this machine, returns a notice that says how to
 * obtain it and which variable points to it, so the notebook shows that once and carries on.
 * Damaged data (a truncated file) still throws: that needs fixing, not skipping.
 */
import type { Dataset } from '../data/types';
import { defaultDataDir } from '../data/registry';
import { isDatasetMissing } from '../data/missing';
import { getPreset, type Preset, presetConfig } from '../train/presets';
import { type Scale, type TrainConfig } from '../train/config';
import { datasetFor } from '../train/trainer';
import { MIME_BUNDLE, type Displayable, type MimeBundle } from '../display/bundle';
import { escapeHtml } from '../display/format';
import { SETTINGS } from '../settings';

/** The environment variable every reader resolves data folders from. */
export const DATA_DIR_VARIABLE = SETTINGS.dataDir.name;

/** A preset whose data is here. */
export interface PresetWithData {
  ok: true;
  preset: Preset;
  config: TrainConfig;
  dataset: Dataset;
  notice: null;
}

/** A preset whose data is absent: `notice` renders how to get it. */
export interface PresetWithoutData {
  ok: false;
  preset: Preset;
  config: TrainConfig;
  dataset: null;
  notice: Displayable & { text: string };
}

/** The preset `name` at `scale` with its dataset, or a notice saying how to obtain the data. */
export function presetData(
  name: string,
  scale: Scale = 'quick',
  overrides: Partial<TrainConfig> = {},
): PresetWithData | PresetWithoutData {
  const preset = getPreset(name);
  const config = presetConfig(name, scale, overrides);
  try {
    return { ok: true, preset, config, dataset: datasetFor(config), notice: null };
  } catch (e) {
    if (!isDatasetMissing(e)) throw e;
    return {
      ok: false,
      preset,
      config,
      dataset: null,
      notice: dataNotice(preset.title, config.dataset, (e as Error).message),
    };
  }
}

/** The notice shown for a preset whose dataset is absent. */
export function dataNotice(title: string, dataset: string, readerMessage: string): Displayable & { text: string } {
  const dir = defaultDataDir();
  const set = process.env[DATA_DIR_VARIABLE] === undefined ? 'unset, so the default' : 'set to';
  const text =
    `${title}: the ${dataset} data is not on this machine, so the cells for this network are skipped.\n` +
    `${readerMessage}\n` +
    `The data folder is $${DATA_DIR_VARIABLE} (${set} ${dir}). Put the data under it, or point it elsewhere ` +
    `with process.env.${DATA_DIR_VARIABLE} = '/path/to/data' in a cell (or in the environment before starting ` +
    `Jupyter), then run the notebook again.`;
  const html =
    `<div style="border-left:4px solid #e0a800;background:#fff8e1;padding:6px 10px;margin:4px 0">` +
    `<b>${escapeHtml(title)}</b>: the <code>${escapeHtml(dataset)}</code> data is not on this machine, ` +
    `so the cells for this network are skipped.<br>` +
    `${escapeHtml(readerMessage)}<br>` +
    `The data folder is <code>$${DATA_DIR_VARIABLE}</code> (${set} <code>${escapeHtml(dir)}</code>). ` +
    `Put the data under it, or point it elsewhere with ` +
    `<code>process.env.${DATA_DIR_VARIABLE} = '/path/to/data'</code> in a cell (or in the environment before ` +
    `starting Jupyter), then run the notebook again.</div>`;
  const bundle: MimeBundle = { 'text/plain': text, 'text/html': html };
  return { text, [MIME_BUNDLE]: () => bundle };
}
