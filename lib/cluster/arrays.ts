/**
 * How a graph's units become Slurm job arrays: units of one kind that ask for the same CPUs,
 * memory and GPUs and wait for exactly the same input jobs are one array (the copies of one
 * trunk; the trunks at k = 0 of several initializations; an IMP level's two baselines), one task
 * per unit, with the longest time limit among them. An input is a task (`<array>_<index>`), so a
 * unit waits for its own inputs only, never for its siblings'. Pure: `lmc plan` groups the same way
 * without a cluster.
 */
import type { DagNode } from './dag';
import type { UnitResources } from './resources';

/**
 * Most tasks in one array: Slurm's default MaxArraySize (1001) allows indices 0 to 1000; a larger group is
 * submitted as several arrays.
 */
export const MAX_ARRAY_TASKS = 1000;

/** One job array to submit: its units in task order, the jobs they all wait for, and what each task asks for. */
export interface JobArray {
  kind: string;
  nodes: DagNode[];
  /** Input jobs (or, in a plan, input unit hashes), sorted. */
  after: string[];
  resources: UnitResources;
}

/**
 * `nodes` in waves: every node's inputs among `nodes` lie in earlier waves (inputs outside them are
 * stored, or another submission's). `nodes` must list inputs first, as `unitDag` does.
 */
export function submissionWaves(nodes: readonly DagNode[]): DagNode[][] {
  const wave = new Map<string, number>();
  const waves: DagNode[][] = [];
  for (const node of nodes) {
    const index = Math.max(0, ...[...node.after, ...node.outside].map((h) => (wave.get(h) ?? -1) + 1));
    wave.set(node.hash, index);
    (waves[index] ??= []).push(node);
  }
  return waves.filter((w) => w !== undefined);
}

/** `nodes` (all of one wave) grouped into arrays; `inputs(node)` names the jobs the node waits for. */
export function jobArrays(nodes: readonly DagNode[], inputs: (node: DagNode) => readonly string[]): JobArray[] {
  const groups = new Map<string, JobArray>();
  const arrays: JobArray[] = [];
  for (const node of nodes) {
    const after = [...new Set(inputs(node))].sort();
    const { cpus, memoryMB, gpus } = node.resources;
    const key = JSON.stringify([node.kind, cpus, memoryMB, gpus, after]);
    let group = groups.get(key);
    if (!group || group.nodes.length >= MAX_ARRAY_TASKS) {
      group = { kind: node.kind, nodes: [], after, resources: { ...node.resources } };
      groups.set(key, group);
      arrays.push(group);
    }
    group.nodes.push(node);
    group.resources.minutes = Math.max(group.resources.minutes, node.resources.minutes);
  }
  return arrays;
}

/** The arrays a plan of `dag` submits, with inputs named by unit hash (a dry run has no job ids). */
export function plannedArrays(dag: readonly DagNode[]): JobArray[] {
  const jobs = dag.filter((n) => !n.stored);
  const queued = new Set(jobs.map((n) => n.hash));
  return submissionWaves(jobs).flatMap((wave) =>
    jobArrays(wave, (node) => [...node.after, ...node.outside].filter((h) => queued.has(h))),
  );
}

/** The id of task `index` of array job `arrayId`, as Slurm names it (squeue, scancel, --dependency). */
export function taskId(arrayId: string, index: number): string {
  return `${arrayId}_${index}`;
}

/** The array job of task `id` (a plain job id is its own). */
export function arrayOf(id: string): string {
  return id.split('_')[0];
}
