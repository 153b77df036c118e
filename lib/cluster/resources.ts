/**
 * What a unit asks of a cluster: CPUs, memory, GPUs and a time limit, from its model, the backend
 * and its work (optimizer steps, or an interpolation curve's evaluations) times a step time.
 * The step time is measured from the store's finished trainings of the same network when there
 * are any, else a planning assumption (ASSUMED_STEP_SECONDS); every field can be overridden.
 */
import type { BackendName } from '../settings';
import type { Store } from '../store';
import type { TrainConfig } from '../train/config';

/** What one unit's job asks for. */
export interface UnitResources {
  cpus: number;
  /** Memory in MiB. */
  memoryMB: number;
  gpus: number;
  /** Time limit in minutes. */
  minutes: number;
}

/**
 * Seconds per optimizer step assumed for planning where the store has no finished training of the
 * network to measure: on one data-centre GPU (native backends) and on one CPU core (wasm, cpu).
 * Assumptions, not measurements: `lmc plan` says which it used; --step-seconds overrides them.
 */
export const ASSUMED_STEP_SECONDS: Readonly<Record<string, { gpu: number; cpu: number }>> = {
  lenet_300_100: { gpu: 0.002, cpu: 0.01 },
  resnet20: { gpu: 0.03, cpu: 1.5 },
  vgg16: { gpu: 0.05, cpu: 6 },
  resnet50: { gpu: 0.35, cpu: 60 },
  inception_v3: { gpu: 0.45, cpu: 80 },
};

/**
 * Memory a job of each network asks for (MiB): its weights, optimizer state, a batch and the dataset in memory, with
 * room.
 */
const MEMORY_MB: Readonly<Record<string, number>> = {
  lenet_300_100: 2048,
  resnet20: 4096,
  vgg16: 8192,
  resnet50: 32768,
  inception_v3: 32768,
};

/** Whether a backend trains on a GPU. */
export function usesGpu(backend: BackendName): boolean {
  return backend === 'gpu';
}

/** A unit's work in optimizer-step equivalents, and where its step time came from. */
export interface UnitWork {
  steps: number;
  stepSeconds: number;
  /** 'measured' from this store's finished units of the network, or 'assumed'. */
  source: 'measured' | 'assumed' | 'given';
}

/** The default resources of a unit of `config` doing `work` on `backend`; `overrides` win field by field. */
export function unitResources(
  config: TrainConfig,
  backend: BackendName,
  work: UnitWork,
  overrides: Partial<UnitResources> = {},
): UnitResources {
  const gpu = usesGpu(backend);
  // Native TensorFlow uses every core it gets; wasm and cpu compute in one thread.
  const cpus = gpu || backend === 'tensorflow' ? 4 : 1;
  const seconds = work.steps * work.stepSeconds;
  // Twice the estimate and ten minutes for loading and evaluation: a killed job loses only the work since its last
  // checkpoint.
  const minutes = Math.ceil((2 * seconds) / 60 + 10);
  return {
    cpus: overrides.cpus ?? cpus,
    memoryMB: overrides.memoryMB ?? MEMORY_MB[config.model] ?? 8192,
    gpus: overrides.gpus ?? (gpu ? 1 : 0),
    minutes: overrides.minutes ?? minutes,
  };
}

/**
 * Seconds per step of `config`'s network measured from the store's finished copies and IMP levels of
 * the same model and batch size (the median), or null when it holds none. `totalSteps` gives T.
 */
export async function measuredStepSeconds(
  store: Store,
  config: TrainConfig,
  totalSteps: number,
): Promise<number | null> {
  const rates: number[] = [];
  for (const kind of ['copy', 'imp-level']) {
    for (const info of await store.list({ kind })) {
      if (info.state !== 'finished' || !info.manifest) continue;
      const train = (info.config as { train?: { model?: string; batchSize?: number } } | null)?.train;
      if (train?.model !== config.model || train?.batchSize !== config.batchSize) continue;
      const steps = totalSteps - ((info.config as { k?: number }).k ?? 0);
      if (steps > 0 && info.manifest.seconds > 0) rates.push(info.manifest.seconds / steps);
    }
  }
  if (rates.length === 0) return null;
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

/** The assumed step seconds of `config`'s network on `backend`. */
export function assumedStepSeconds(config: TrainConfig, backend: BackendName): number {
  const row = ASSUMED_STEP_SECONDS[config.model] ?? { gpu: 0.5, cpu: 60 };
  return usesGpu(backend) || backend === 'tensorflow' ? row.gpu : row.cpu;
}
