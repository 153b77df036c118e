/**
 * The text of a plan (`--dry-run`): one line per unit with its job array task, inputs, work, estimate and
 * resources, then totals.
 */
import { plannedArrays } from '../cluster/arrays';
import type { DagNode } from '../cluster/dag';
import type { SlurmExecutor } from '../cluster/executor';
import type { ExperimentContext } from '../experiments';
import { formatSeconds } from './progress';

/** Longest chain of estimated seconds through the graph: the wall-clock with unlimited nodes. */
export function criticalPathSeconds(dag: readonly DagNode[]): number {
  const finish = new Map<string, number>();
  for (const node of dag) {
    const before = Math.max(0, ...node.after.map((h) => finish.get(h) ?? 0));
    finish.set(node.hash, before + (node.stored ? 0 : node.seconds));
  }
  return Math.max(0, ...finish.values());
}

/** The plan as printed by `lmc plan` and `--dry-run`. */
export function formatPlan(ctx: ExperimentContext, executor: SlurmExecutor, dag: readonly DagNode[]): string {
  const index = new Map(dag.map((n, i) => [n.hash, i + 1]));
  const jobs = dag.filter((n) => !n.stored);
  const arrays = plannedArrays(dag);
  // Arrays numbered in submission order, tasks from 0: `A2_1` is the second task of the second array.
  const task = new Map(arrays.flatMap((a, i) => a.nodes.map((n, t): [string, string] => [n.hash, `A${i + 1}_${t}`])));
  const header = ['#', 'job', 'kind', 'unit', 'label', 'after', 'steps', 'estimate', 'cpus', 'mem', 'gpus', 'limit'];
  const rows = dag.map((n, i) => [
    String(i + 1),
    task.get(n.hash) ?? '-',
    n.kind,
    n.hash.slice(0, 12),
    n.label,
    n.after.map((h) => `#${index.get(h)}`).join(',') || '-',
    n.stored ? 'stored' : String(n.work.steps),
    n.stored ? '-' : formatSeconds(n.seconds),
    String(n.resources.cpus),
    `${n.resources.memoryMB}M`,
    String(n.resources.gpus),
    n.stored ? '-' : `${n.resources.minutes}m`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  const byKind = new Map<string, number>();
  for (const n of jobs) byKind.set(n.kind, (byKind.get(n.kind) ?? 0) + 1);
  const seconds = jobs.reduce((sum, n) => sum + n.seconds, 0);
  const gpuSeconds = jobs.reduce((sum, n) => sum + n.seconds * n.resources.gpus, 0);
  const sources = [...new Set(jobs.map((n) => `${n.work.source} ${n.work.stepSeconds} s/step`))];
  // An array with inputs shows how tasks name the tasks they wait for.
  const shown = arrays.find((a) => a.after.length > 0) ?? arrays[0];
  return [
    line(header),
    ...rows.map(line),
    '',
    `${jobs.length} unit(s) to submit (${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}) as ` +
      `${arrays.length} job array(s); ${dag.length - jobs.length} unit(s) already in the store at ${ctx.store.root}`,
    `estimated compute: ${(seconds / 3600).toFixed(2)} h${
      gpuSeconds > 0 ? ` (${(gpuSeconds / 3600).toFixed(2)} GPU-hours)` : ''
    }; longest chain of inputs: ${formatSeconds(criticalPathSeconds(dag))}`,
    `step time: ${sources.join('; ') || '-'}`,
    ...(shown
      ? [
          '',
          `sbatch arguments of A${arrays.indexOf(shown) + 1} (${shown.nodes.length} ` +
            `task(s); inputs by job id once submitted):`,
          ...executor
            .arrayArguments(ctx, { ...shown, after: shown.after.map((h) => `<${task.get(h)}>`) })
            .map((a) => `  ${a}`),
        ]
      : []),
  ].join('\n');
}
