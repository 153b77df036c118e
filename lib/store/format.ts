/**
 * Plain-text renderings of store listings, for `lmc ls`, `lmc show` and `lmc gc`. Kept here, next to
 * the data they describe, so the CLI and notebooks print the same thing.
 */
import type { Json } from './canonical';
import { unitEtaSeconds, type GcReport, type UnitInfo } from './inventory';
import { formatDuration } from '../io/duration';

/** Bytes in a human unit: 512 B, 1.5 MiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A config on one line: top-level `key=value` pairs, nested values as compact JSON, cut at `width`. */
export function configSummary(config: Json | null, width = 70): string {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return JSON.stringify(config);
  const text = Object.entries(config)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

function localTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** The `lmc ls` table: hash prefix, kind, state, size, modified, config. */
export function formatUnitList(units: readonly UnitInfo[]): string {
  if (units.length === 0) return 'no units in the store\n';
  const rows = units.map((u) => [
    u.hash.slice(0, 12),
    u.kind,
    stateText(u),
    formatBytes(u.bytes),
    localTime(u.modified),
    configSummary(u.config),
  ]);
  const header = ['HASH', 'KIND', 'STATE', 'SIZE', 'MODIFIED', 'CONFIG'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const counts = new Map<string, number>();
  for (const u of units) counts.set(u.state, (counts.get(u.state) ?? 0) + 1);
  const total = units.reduce((s, u) => s + u.bytes, 0);
  const byState = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const footer = `${units.length} units (${byState}), ${formatBytes(total)}`;
  return `${[line(header), ...rows.map(line), footer].join('\n')}\n`;
}

/** A unit's state in one word: `running@340/1000` while it reports progress, `unfinished@500` with a checkpoint. */
export function stateText(u: UnitInfo): string {
  if (u.state === 'running' && u.progress) return `running@${u.progress.step}/${u.progress.to}`;
  if (u.state === 'unfinished' && u.checkpointStep !== null) return `unfinished@${u.checkpointStep}`;
  return u.state;
}

/** The `lmc show` text: identity, state, problems, config, summary and files. */
export function formatUnitDetails(u: UnitInfo): string {
  const lines = [
    `unit      ${u.kind}/${u.hash}`,
    `folder    ${u.dir}`,
    `state     ${u.state}${u.owner ? ` (by ${u.owner})` : ''}` +
      `${u.checkpointStep !== null ? ` (checkpoint at step ${u.checkpointStep})` : ''}`,
    `size      ${formatBytes(u.bytes)}, modified ${localTime(u.modified)}`,
  ];
  if (u.progress && u.state !== 'finished') {
    const eta = unitEtaSeconds(u);
    lines.push(
      `progress  step ${u.progress.step} of ${u.progress.to} (this attempt from ${u.progress.from}) at ` +
        `${u.progress.updatedAt}` +
        (eta === null ? '' : `, about ${formatDuration(eta)} left`),
    );
  }
  if (u.manifest)
    lines.push(
      `computed  ${u.manifest.started} .. ${u.manifest.finished} (${u.manifest.seconds.toFixed(1)} s) on ` +
        `${u.manifest.host}`,
    );
  for (const p of u.problems) lines.push(`problem   ${p}`);
  lines.push(`config    ${JSON.stringify(u.config, null, 2).replace(/\n/g, '\n          ')}`);
  if (u.manifest) {
    lines.push(`summary   ${JSON.stringify(u.summary, null, 2).replace(/\n/g, '\n          ')}`);
    lines.push('files');
    for (const [name, d] of Object.entries(u.manifest.files))
      lines.push(`  ${name.padEnd(32)} ${formatBytes(d.size).padStart(10)}  sha256 ${d.sha256.slice(0, 16)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The `lmc gc` report. */
export function formatGcReport(report: GcReport, dryRun = false): string {
  const verb = dryRun ? 'would remove' : 'removed';
  const lines = report.removed.map((r) => `${verb} ${r.path} (${r.reason}, ${formatBytes(r.bytes)})`);
  for (const k of report.kept) lines.push(`kept ${k.path}: ${k.reason}`);
  lines.push(`${dryRun ? 'would free' : 'freed'} ${formatBytes(report.bytes)} in ${report.removed.length} items`);
  return `${lines.join('\n')}\n`;
}
