/**
 * Notebook 08's runs: ResNet-20 with Table 1's standard hyperparameters on Fashion-MNIST, the real
 * image dataset a CPU machine can have (Debian's dataset-fashion-mnist). Each scale's plan fixes the
 * training length, the evaluation subset, the α grid, the k values and the replicates; quick is
 * planned for about 15 minutes on 2 idle CPU cores from an empty store (the budget: 20), smoke seconds.
 */
import { shortenTraining, type Scale } from '../train/config';
import { presetConfig } from '../train/presets';
import { presetData, type PresetWithData, type PresetWithoutData } from './preset-data';

/** The Table 1 row notebook 08 trains. */
export const REAL_IMAGES_PRESET = 'resnet20_standard';

/** What one scale of notebook 08 measures. */
export interface RealImagesPlan {
  /** Training length T (milestones shrink with it); null: the scale's own (Table 1's at paper scale). */
  training: string | null;
  /** Examples of each split every evaluation uses: the first n of train and of test (0: all). */
  evalExamples: number;
  /** Evenly spaced α on the path, both ends included (the paper: 30). */
  alphas: number;
  /** Steps k the copies start from (Figures 2 and 3): 0 up to a quarter of T. */
  ks: readonly number[];
  inits: number;
  pairs: number;
  /** Density of the IMP subnetwork: Table 1's 16.8% for ResNet-20. */
  density: number;
  /** Prune once to `density` (true) or by 20% per round as the paper (false: 8 rounds). */
  oneShot: boolean;
  /** Mean test instability below which a k counts as stable (the IMP rewinding point). */
  stableBelow: number;
}

/** The plan of each scale. */
export const REAL_IMAGES_PLANS: Readonly<Record<Scale, RealImagesPlan>> = {
  // Batch 8, 12 steps: every cell runs, the numbers mean nothing.
  smoke: {
    training: '12it',
    evalExamples: 256,
    alphas: 3,
    ks: [0, 1, 2, 3],
    inits: 1,
    pairs: 1,
    density: 0.168,
    oneShot: true,
    stableBelow: 0.02,
  },
  // 256 of 63,000 steps (0.55 epoch of 60,000 images): about 4,300 training steps in all,
  // about 15 minutes on 2 idle cores.
  quick: {
    training: '256it',
    evalExamples: 1000,
    alphas: 11,
    ks: [0, 16, 32, 64],
    inits: 1,
    pairs: 1,
    density: 0.168,
    oneShot: true,
    stableBelow: 0.02,
  },
  // Table 1 exactly, on Fashion-MNIST: needs a GPU.
  paper: {
    training: null,
    evalExamples: 0,
    alphas: 30,
    ks: [0, 500, 2000, 5000, 15750],
    inits: 3,
    pairs: 3,
    density: 0.168,
    oneShot: false,
    stableBelow: 0.02,
  },
};

/** Notebook 08's config and data at `scale`, or the notice that says how to get Fashion-MNIST; with the plan. */
export function realImagesData(scale: Scale): (PresetWithData | PresetWithoutData) & { plan: RealImagesPlan } {
  const plan = REAL_IMAGES_PLANS[scale];
  if (!plan)
    throw new Error(
      `realImagesData: scale ${JSON.stringify(scale)}; use one of ${Object.keys(REAL_IMAGES_PLANS).join(', ')}`,
    );
  const dataset = 'fashion-mnist';
  // Shortened from Table 1's own schedule, not from the scale's, so milestones round once.
  const length =
    plan.training === null
      ? {}
      : (({ training, milestones, warmup }) => ({ training, milestones, warmup }))(
          shortenTraining(presetConfig(REAL_IMAGES_PRESET, 'paper', { dataset }), plan.training, 'realImagesData'),
        );
  return { ...presetData(REAL_IMAGES_PRESET, scale, { dataset, ...length, evalExamples: plan.evalExamples }), plan };
}
