/**
 * The PyTorch reference of the benchmarks: bench/torch_step.py run with the project's Python
 * environment (.venv/, PyTorch 2.13 from requirements.txt), else the first python3 with torch;
 * `--torch-python <path>` on a bench picks another (e.g. Debian's /usr/bin/python3 with its 1.13).
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_PYTHON } from '../lib/cli/python-env';

/**
 * Milliseconds per training step of `model` ('lenet' or 'resnet20')
 * in PyTorch on every core; null (and why) when no Python has torch.
 */
export function pytorchMs(
  model: string,
  steps: number,
  warmup: number,
  chosen?: string,
): { ms: number | null; note: string } {
  const script = path.resolve(__dirname, '..', '..', 'bench', 'torch_step.py');
  const notes: string[] = [];
  for (const python of chosen ? [chosen] : [PROJECT_PYTHON, 'python3', '/usr/bin/python3']) {
    // PyTorch gets every core (its default here is one thread); our CPU backends use one.
    const threads = String(os.availableParallelism());
    const args = [script, '--model', model, '--steps', String(steps), '--warmup', String(warmup), '--threads', threads];
    const run = spawnSync(python, args, { encoding: 'utf8' });
    if (run.error) {
      notes.push(`${python}: ${run.error.message}`);
      continue;
    }
    const line = run.stdout.trim().split('\n').filter(Boolean).pop() ?? '';
    try {
      const parsed = JSON.parse(line);
      if (typeof parsed.msPerStep === 'number')
        return { ms: parsed.msPerStep, note: `${python}, torch ${parsed.torch}, ${parsed.threads} threads` };
      notes.push(`${python}: ${parsed.error ?? line}`);
    } catch {
      notes.push(`${python}: ${(run.stderr || line).trim().split('\n').pop()}`);
    }
  }
  return { ms: null, note: notes.join('; ') };
}
