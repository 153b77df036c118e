/** The flags every experiment command shares: --config, --scale, --set. */
import { presetConfig, applySettings, presetNames, SCALES, type Scale, type TrainConfig } from '../train/config';
import { getPreset, type Preset } from '../train/presets';

/** parseArgs options of the shared flags, spread into each experiment command's own table. */
export const CONFIG_OPTIONS = {
  config: { type: 'string' },
  scale: { type: 'string' },
  set: { type: 'string', multiple: true },
} as const;

/** parseArgs options of the output flags the experiment commands share: --json and --quiet. */
export const OUTPUT_OPTIONS = {
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const;

/** The parsed values of the shared flags. */
export interface ConfigFlags {
  config?: string;
  scale?: string;
  set?: string[];
}

/** Scale from --scale, else $LMC_SCALE, else `fallback`; an unknown scale is an error naming the flag. */
export function scaleFrom(flag: string | undefined, fallback: Scale): Scale {
  const scale = (flag ?? process.env.LMC_SCALE ?? fallback) as Scale;
  if (!SCALES.includes(scale)) throw new Error(`--scale ${scale}: use one of ${SCALES.join(', ')}`);
  return scale;
}

/** The preset, scale and validated config that --config, --scale and --set describe. */
export function configFromFlags(values: ConfigFlags): { presetName: string; preset: Preset; scale: Scale; config: TrainConfig } {
  if (!values.config) throw new Error(`--config is required; choose one of ${presetNames().join(', ')}`);
  const scale = scaleFrom(values.scale, 'paper');
  const preset = getPreset(values.config);
  const config = applySettings(presetConfig(values.config, scale), values.set ?? []);
  return { presetName: values.config, preset, scale, config };
}
