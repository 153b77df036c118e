/**
 * The units of a set of calls as a graph: every unit the calls need, inputs before the units that
 * read them, with what the store already holds, each unit's estimated work and resources. A
 * cluster submits it in this order; `lmc plan --dry-run` prints it.
 */
import type { BackendName } from '../settings';
import type { ExperimentContext, UnitCall } from '../experiments';
import { callConfig, describeCall, unitDefinition } from '../experiments/registry';
import { resolveConfig, type TrainConfig } from '../train/config';
import { assumedStepSeconds, measuredStepSeconds, unitResources, type UnitResources, type UnitWork } from './resources';

/** One unit of the graph. */
export interface DagNode {
  hash: string;
  kind: string;
  label: string;
  call: UnitCall;
  /** The step k in its identity (iterations), if it has one. */
  k: number | null;
  /** Hashes of the units it reads (its dependencies, and the IMP level that made its mask), all earlier in the list. */
  after: string[];
  /** Hashes of mask-making units it reads that are not in the graph (finished, or another submission's). */
  outside: string[];
  /** The store holds it already (its inputs are not walked). */
  stored: boolean;
  work: UnitWork;
  /** Estimated seconds: work.steps x work.stepSeconds. */
  seconds: number;
  resources: UnitResources;
}

/** Options of `unitDag`. */
export interface DagOptions {
  backend: BackendName;
  /** Overrides of every unit's resources. */
  resources?: Partial<UnitResources>;
  /** Seconds per optimizer step, instead of the store's measurement or the assumption. */
  stepSeconds?: number;
  /** Step times found so far, by network and batch size (an executor keeps one across its graphs). */
  rates?: Map<string, Promise<UnitWork>>;
}

/** The IMP level (by hash) whose mask a call trains under, if any: its mask or initial mask names it. */
export function maskSource(call: UnitCall): string | null {
  const spec = call.spec as { mask?: unknown; initialMask?: unknown };
  for (const mask of [spec.mask, spec.initialMask]) {
    const key = mask as { imp?: unknown; randomPrune?: unknown } | undefined;
    if (typeof key?.imp === 'string') return key.imp;
    if (typeof key?.randomPrune === 'string') return key.randomPrune;
  }
  return null;
}

/**
 * Work of a unit in optimizer-step equivalents: a training's steps, or a curve's forward passes (a third of a step
 * each).
 */
function unitSteps(
  ctx: ExperimentContext,
  kind: string,
  key: { k?: number; alphas?: number[] },
  config: TrainConfig,
  inputs: readonly DagNode[],
): number {
  const dataset = ctx.dataset(config);
  const T = resolveConfig(config, dataset.train.size).totalIterations;
  const k = key.k ?? 0;
  if (kind === 'trunk') return k - Math.max(0, ...inputs.map((n) => (n.kind === 'trunk' ? (n.k ?? 0) : 0)));
  if (kind === 'instability-pair') {
    const limit = (size: number) => (config.evalExamples > 0 ? Math.min(size, config.evalExamples) : size);
    const batches = Math.ceil((limit(dataset.train.size) + limit(dataset.test.size)) / config.evalBatchSize);
    return Math.ceil(((key.alphas?.length ?? 30) * batches * config.evalBatchSize) / config.batchSize / 3);
  }
  return Math.max(0, T - k);
}

/** The graph of `calls` (and everything they need), inputs first. */
export async function unitDag(
  ctx: ExperimentContext,
  calls: readonly UnitCall[],
  options: DagOptions,
): Promise<DagNode[]> {
  const nodes = new Map<string, DagNode>();
  const order: DagNode[] = [];
  const stepSeconds = options.rates ?? new Map<string, Promise<UnitWork>>();
  const workOf = (config: TrainConfig): Promise<UnitWork> => {
    const id = `${config.model}/${config.batchSize}`;
    let found = stepSeconds.get(id);
    if (!found) {
      found = (async (): Promise<UnitWork> => {
        if (options.stepSeconds !== undefined) return { steps: 0, stepSeconds: options.stepSeconds, source: 'given' };
        const T = resolveConfig(config, ctx.dataset(config).train.size).totalIterations;
        const measured = await measuredStepSeconds(ctx.store, config, T);
        return measured === null
          ? {
              steps: 0,
              stepSeconds: assumedStepSeconds(config, (options.resources?.gpus ?? 0) > 0 ? 'gpu' : options.backend),
              source: 'assumed',
            }
          : { steps: 0, stepSeconds: measured, source: 'measured' };
      })();
      stepSeconds.set(id, found);
    }
    return found;
  };
  const visit = async (call: UnitCall, path: readonly string[]): Promise<DagNode> => {
    const plan = unitDefinition(call).plan(ctx, call.spec);
    const hash = ctx.store.identify(plan.kind, plan.key).hash;
    const seen = nodes.get(hash);
    if (seen) return seen;
    if (path.includes(hash))
      throw new Error(
        `unit graph: ${describeCall(call)} depends on itself (${[...path, hash]
          .map((h) => h.slice(0, 12))
          .join(' -> ')})`,
      );
    const stored = (await ctx.store.get(plan.kind, plan.key)) !== null;
    const inputs = stored ? [] : await Promise.all(plan.dependencies.map((d) => visit(d, [...path, hash])));
    const source = stored ? null : maskSource(call);
    const after = inputs.map((n) => n.hash);
    const outside: string[] = [];
    if (source !== null) (nodes.has(source) ? after : outside).push(source);
    const config = callConfig(call);
    const rate = await workOf(config);
    const work: UnitWork = {
      ...rate,
      steps: stored ? 0 : unitSteps(ctx, plan.kind, plan.key as { k?: number }, config, inputs),
    };
    const node: DagNode = {
      hash,
      kind: plan.kind,
      label: plan.label,
      call,
      k: (plan.key as { k?: number }).k ?? null,
      after: [...new Set(after)],
      outside,
      stored,
      work,
      seconds: work.steps * work.stepSeconds,
      resources: unitResources(config, options.backend, work, options.resources),
    };
    // Another branch may have reached it while this one awaited.
    const raced = nodes.get(hash);
    if (raced) return raced;
    nodes.set(hash, node);
    order.push(node);
    return node;
  };
  // One after the other: a call's mask source is then already in the graph when the IMP run lists its levels first.
  for (const call of calls) await visit(call, []);
  return order;
}
