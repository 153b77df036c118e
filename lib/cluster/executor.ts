/**
 * The Slurm executor behind the experiments' seam (ExperimentContext.run): every unit the shared
 * store lacks becomes one task of a job array (`lmc unit run <hash>...`; units of one kind with
 * the same inputs share an array) that waits for its inputs' tasks (afterok; killed when one
 * fails), so a whole experiment's graph is queued at once and the scheduler runs it. Units
 * already stored are not submitted; a unit whose job (from this or another submission) is still
 * queued or running is waited on, not submitted again; the store's locks keep two jobs from
 * computing one unit. Completion is read from each job's exit record in
 * the store, and from squeue for jobs that ended without one (cancelled, killed, lost).
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { ExecutorOutcome, ExperimentContext, UnitCall, UnitExecutor } from '../experiments';
import { activeBackend, callSetup } from '../experiments/context';
import { describeCall, unitDefinition } from '../experiments/registry';
import type { BackendName } from '../settings';
import { jobArrays, submissionWaves, taskId, type JobArray } from './arrays';
import { unitDag, type DagNode } from './dag';
import {
  jobLogFile,
  readExit,
  readSubmission,
  writeExperiment,
  writeJobCall,
  writeSubmission,
  type ExperimentRecord,
  type ExperimentUnit,
  type JobExit,
} from './files';
import type { UnitWork } from './resources';
import { sbatchArgs, type SlurmSite } from './sbatch';
import { LIVE_STATES, slurmClient, type SlurmClient } from './slurm';

/** A job's life as the submitter sees it. */
export interface JobEvent {
  type: 'submitted' | 'reused' | 'running' | 'finished' | 'failed';
  hash: string;
  kind: string;
  label: string;
  jobId: string;
  /** 'failed': why, and where the job's log is. */
  error?: string;
  log?: string;
}

/** Options of the Slurm executor. */
export interface SlurmExecutorOptions {
  /** Partition, account, QOS, extra arguments, resource overrides. */
  site?: SlurmSite;
  /** The Slurm commands (default: the real ones, with this process's environment). */
  client?: SlurmClient;
  /** The command line recorded with the experiment (for `lmc status`). */
  command?: string;
  /** The backend jobs compute on (default: this process's, as the CLI started it). */
  backend?: BackendName;
  /** Seconds per optimizer step for time limits (default: measured in the store, else assumed). */
  stepSeconds?: number;
  /** Milliseconds between looks at the jobs' exit records (default 250); squeue is asked every fourth look. */
  pollMs?: number;
  onJob?(event: JobEvent): void;
}

/** Milliseconds `compute` gathers calls before it submits them as one graph. */
const BATCH_MS = 100;

/** Calls gathered for one submission. */
interface Batch {
  ctx: ExperimentContext;
  calls: UnitCall[];
  done: Promise<unknown>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A promise settled from outside; a rejection nobody awaits is not reported as unhandled. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface Submitted {
  node: DagNode;
  /** Null when the store held the unit. */
  jobId: string | null;
}

interface Waiter {
  submitted: Submitted & { jobId: string };
  running: boolean;
  /** Looks at squeue that found the job ended without an exit record. */
  ended: number;
  resolve(outcome: ExecutorOutcome): void;
  reject(error: Error): void;
}

/** A new experiment id: when, and a random suffix (two submissions in one second differ). */
function experimentId(): string {
  const when = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${when}-${randomBytes(2).toString('hex')}`;
}

/** Submits units as Slurm jobs and waits for them; see the module comment. */
export class SlurmExecutor implements UnitExecutor {
  /** Every unit may be queued at once: the scheduler decides what runs. */
  readonly parallel = 1 << 20;
  /** This submission's id in `<store>/.cluster/experiments/`. */
  readonly experiment = experimentId();
  private readonly client: SlurmClient;
  private readonly submitted = new Map<string, Promise<Submitted>>();
  private readonly outcomes = new Map<string, Promise<ExecutorOutcome>>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly record: ExperimentUnit[] = [];
  private saving: Promise<void> = Promise.resolve();
  private polling = false;
  private batch: Batch | null = null;
  private backend: Promise<BackendName> | null = null;
  private readonly rates = new Map<string, Promise<UnitWork>>();

  constructor(private readonly options: SlurmExecutorOptions = {}) {
    this.client = options.client ?? slurmClient();
  }

  /**
   * Queues every unit `calls` need that the store lacks, inputs first (an experiment's whole graph
   * at once, as job arrays: see arrays.ts); resolves to the graph once every job is submitted,
   * without waiting for any.
   */
  async submit(ctx: ExperimentContext, calls: readonly UnitCall[]): Promise<DagNode[]> {
    const dag = await this.plan(ctx, calls);
    const backend = await this.backend!;
    // Claimed at once, so that a concurrent submission waits on these units instead of queuing them again.
    const mine = new Map<string, Deferred<Submitted>>();
    for (const node of dag) {
      if (this.submitted.has(node.hash)) continue;
      const claim = deferred<Submitted>();
      mine.set(node.hash, claim);
      this.submitted.set(node.hash, claim.promise);
    }
    // sbatch opens each task's log where the task starts; it creates no folder.
    await fsp.mkdir(path.dirname(jobLogFile(ctx.store.root, '%A_%a')), { recursive: true });
    try {
      for (const wave of submissionWaves(dag.filter((n) => mine.has(n.hash))))
        await this.submitWave(ctx, wave, backend, mine);
    } catch (e) {
      for (const claim of mine.values()) claim.reject(e);
      throw e;
    }
    await this.save(ctx);
    return dag;
  }

  /** The site settings every job is submitted with. */
  get site(): SlurmSite {
    return this.options.site ?? {};
  }

  /** The graph `submit` would queue, submitting nothing (`lmc plan`). */
  async plan(ctx: ExperimentContext, calls: readonly UnitCall[]): Promise<DagNode[]> {
    const backend = await (this.backend ??= this.options.backend
      ? Promise.resolve(this.options.backend)
      : activeBackend());
    return unitDag(ctx, calls, {
      backend,
      resources: this.options.site?.resources,
      stepSeconds: this.options.stepSeconds,
      rates: this.rates,
    });
  }

  /**
   * See UnitExecutor.compute: submits what `call` needs (unless queued already), then waits for its job. Calls that
   * arrive within BATCH_MS of each other are submitted as one graph, so that their units share job arrays.
   */
  async compute(ctx: ExperimentContext, call: UnitCall): Promise<ExecutorOutcome> {
    const plan = unitDefinition(call).plan(ctx, call.spec);
    const hash = ctx.store.identify(plan.kind, plan.key).hash;
    if (!this.submitted.has(hash)) await this.submitSoon(ctx, call);
    const submitted = await this.submitted.get(hash);
    if (!submitted)
      throw new Error(
        `lmc-lab: ${describeCall(call)} was not submitted (unit ${hash}); this is a bug of the Slurm executor`,
      );
    if (submitted.jobId === null) return { computed: false, events: [] };
    return this.wait(ctx, { ...submitted, jobId: submitted.jobId });
  }

  /** The sbatch arguments of `array` (inputs by job id), as `submit` passes them and `lmc plan` shows them. */
  arrayArguments(ctx: ExperimentContext, array: JobArray): string[] {
    return sbatchArgs(
      {
        kind: array.kind,
        hashes: array.nodes.map((n) => n.hash),
        storeRoot: ctx.store.root,
        after: array.after,
        resources: array.resources,
      },
      this.options.site,
    );
  }

  private submitSoon(ctx: ExperimentContext, call: UnitCall): Promise<unknown> {
    const batch = this.batch;
    if (batch && batch.ctx === ctx) {
      batch.calls.push(call);
      return batch.done;
    }
    const next: Batch = { ctx, calls: [call], done: Promise.resolve() };
    next.done = new Promise((resolve) => setTimeout(resolve, BATCH_MS)).then(() => {
      if (this.batch === next) this.batch = null;
      return this.submit(ctx, next.calls);
    });
    this.batch = next;
    return next.done;
  }

  private remember(node: DagNode, jobId: string | null): Submitted {
    this.record.push({
      hash: node.hash,
      kind: node.kind,
      label: node.label,
      jobId,
      after: node.after,
      estimate: node.seconds,
    });
    return { node, jobId };
  }

  /** Submits the units of one wave (their inputs' jobs all known) as job arrays, settling each unit's claim. */
  private async submitWave(
    ctx: ExperimentContext,
    wave: readonly DagNode[],
    backend: BackendName,
    claims: Map<string, Deferred<Submitted>>,
  ): Promise<void> {
    const root = ctx.store.root;
    const settle = (node: DagNode, jobId: string | null) => claims.get(node.hash)!.resolve(this.remember(node, jobId));
    const inputs = new Map<string, string[]>();
    for (const node of wave) {
      if (node.stored) {
        settle(node, null);
        continue;
      }
      const live = await this.liveJob(root, node.hash);
      if (live !== null) {
        this.options.onJob?.({ type: 'reused', hash: node.hash, kind: node.kind, label: node.label, jobId: live });
        settle(node, live);
        continue;
      }
      const after: string[] = [];
      for (const hash of node.after) {
        const job = (await this.submitted.get(hash))?.jobId;
        if (job) after.push(job);
      }
      for (const hash of node.outside) {
        const job = (await this.submitted.get(hash))?.jobId ?? (await this.liveJob(root, hash));
        if (job) after.push(job);
      }
      inputs.set(node.hash, after);
    }
    const queued = wave.filter((n) => inputs.has(n.hash));
    for (const array of jobArrays(queued, (node) => inputs.get(node.hash)!)) {
      for (const node of array.nodes) {
        const setup = callSetup(ctx, node.call, backend);
        if (!setup) {
          throw new Error(
            `${node.label}: a cluster job loads its dataset by name, but this context's dataset was built in memory; ` +
              "give the context a dataset from loadDataset (or none: each config's own)",
          );
        }
        await writeJobCall(root, { kind: node.kind, hash: node.hash, label: node.label, call: node.call, setup });
      }
      const arrayId = await this.client.sbatch(this.arrayArguments(ctx, array));
      const submittedAt = new Date().toISOString();
      for (const [index, node] of array.nodes.entries()) {
        const jobId = taskId(arrayId, index);
        await writeSubmission(root, node.hash, { jobId, submittedAt, after: array.after, experiment: this.experiment });
        this.options.onJob?.({ type: 'submitted', hash: node.hash, kind: node.kind, label: node.label, jobId });
        settle(node, jobId);
      }
    }
  }

  /** The job of unit `hash` that is still queued or running (any submission's), or null. */
  private async liveJob(root: string, hash: string): Promise<string | null> {
    const earlier = readSubmission(root, hash);
    if (!earlier) return null;
    if (readExit(root, hash, earlier.jobId)) return null;
    const state = (await this.client.states([earlier.jobId])).get(earlier.jobId);
    return state && LIVE_STATES.has(state.state) ? earlier.jobId : null;
  }

  private save(ctx: ExperimentContext): Promise<void> {
    const record: ExperimentRecord = {
      id: this.experiment,
      command: this.options.command ?? '',
      submittedAt: new Date().toISOString(),
      units: [...this.record],
    };
    this.saving = this.saving.then(() => writeExperiment(ctx.store.root, record));
    return this.saving;
  }

  private wait(ctx: ExperimentContext, submitted: Submitted & { jobId: string }): Promise<ExecutorOutcome> {
    let outcome = this.outcomes.get(submitted.node.hash);
    if (!outcome) {
      outcome = new Promise<ExecutorOutcome>((resolve, reject) => {
        this.waiters.set(submitted.jobId, { submitted, running: false, ended: 0, resolve, reject });
      });
      this.outcomes.set(submitted.node.hash, outcome);
      void this.poll(ctx.store.root);
    }
    return outcome;
  }

  private settle(root: string, waiter: Waiter, exit: JobExit | null, why?: string): void {
    const { node, jobId } = waiter.submitted;
    this.waiters.delete(jobId);
    const log = jobLogFile(root, jobId);
    if (exit?.ok) {
      this.options.onJob?.({ type: 'finished', hash: node.hash, kind: node.kind, label: node.label, jobId });
      waiter.resolve({ computed: exit.computed, events: exit.events });
      return;
    }
    const error = exit ? (exit.error ?? 'failed') : (why ?? 'ended without an exit record');
    this.options.onJob?.({ type: 'failed', hash: node.hash, kind: node.kind, label: node.label, jobId, error, log });
    waiter.reject(
      new Error(
        `${node.label} (${node.kind} ${node.hash.slice(0, 12)}): Slurm job ${jobId} ${
          exit ? `failed: ${error}` : error
        }; ` + `its log: ${log}; \`lmc status\` shows every unit of the experiment`,
      ),
    );
  }

  private async poll(root: string): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const every = this.options.pollMs ?? 250;
    try {
      for (let look = 0; this.waiters.size > 0; look++) {
        await new Promise((r) => setTimeout(r, every));
        for (const waiter of [...this.waiters.values()]) {
          const exit = readExit(root, waiter.submitted.node.hash, waiter.submitted.jobId);
          if (exit) this.settle(root, waiter, exit);
        }
        if (look % 4 !== 3 || this.waiters.size === 0) continue;
        const states = await this.client.states([...this.waiters.keys()]);
        for (const [jobId, state] of states) {
          const waiter = this.waiters.get(jobId);
          if (!waiter) continue;
          if (state.state === 'RUNNING' && !waiter.running) {
            waiter.running = true;
            const { node } = waiter.submitted;
            this.options.onJob?.({ type: 'running', hash: node.hash, kind: node.kind, label: node.label, jobId });
          }
          if (LIVE_STATES.has(state.state)) continue;
          const exit = readExit(root, waiter.submitted.node.hash, jobId);
          // An exit record may reach this node a moment after squeue says the job ended (network filesystems).
          if (exit || ++waiter.ended >= 3) {
            const why =
              state.reason === 'DependencyNeverSatisfied'
                ? 'was cancelled: the job of one of its inputs failed or was cancelled'
                : `ended ${state.state} (${state.reason}) without an exit record (killed, out of time or memory, or ` +
                  `cancelled)`;
            this.settle(root, waiter, exit, why);
          }
        }
      }
    } catch (e) {
      for (const waiter of [...this.waiters.values()]) {
        this.waiters.delete(waiter.submitted.jobId);
        waiter.reject(e as Error);
      }
    } finally {
      this.polling = false;
    }
  }
}
