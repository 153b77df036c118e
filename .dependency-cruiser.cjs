/**
 * The layering of lmc-lab (GUIDE.md §2), checked by `npm test` (npm run check:layers): one
 * direction of dependency, bottom to top: rng, backend, io, settings, data, models -> train ->
 * prune, stability (pure algorithms) -> store, experiments -> cluster (executors that run units as
 * cluster jobs) -> display -> notebook -> cli, kernel.
 * Type-only imports count: a cycle through types is still a cycle.
 */
const layer = (name, from, to, comment) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'no import cycle, inside a folder or across', severity: 'error', from: {}, to: { circular: true } },
    layer('lib-not-above-it', '^lib/', '^kernel/', 'nothing under lib/ imports the kernel'),
    layer('cli-is-top', '^lib/(?!cli/)', '^lib/cli/', 'only the CLI imports the CLI'),
    layer('foundations-are-foundations', '^lib/(rng|backend|io|settings\\.ts|tf\\.ts)', '^lib/(data|models|train|prune|stability|store|experiments|display|notebook)/',
      'rng, backend, io and settings import no domain layer'),
    layer('data-and-models-below-train', '^lib/(data|models)/', '^lib/(train|prune|stability|store|experiments|display|notebook)/',
      'datasets and models know nothing of training'),
    layer('train-below-algorithms', '^lib/train/', '^lib/(prune|stability|store|experiments|display|notebook)/',
      'the trainer knows nothing of pruning, stability or caching'),
    layer('algorithms-are-pure', '^lib/(prune|stability)/', '^lib/(store|experiments|display|notebook)/',
      'pure algorithms: no files, no caching, no presentation'),
    layer('store-knows-no-algorithm', '^lib/store/', '^lib/(data|models|train|prune|stability|experiments|display|notebook)/',
      'the store caches units of any kind; it knows no algorithm'),
    layer('experiments-below-display', '^lib/experiments/', '^lib/(display|notebook)/', 'units compute; presentation is above them'),
    layer('cluster-above-experiments', '^lib/(rng|backend|io|data|models|train|prune|stability|store|experiments|display)/|^lib/(settings|tf)\\.ts', '^lib/cluster/',
      'an executor plugs in from above: the experiments never know which one runs their units'),
    layer('cluster-below-presentation', '^lib/cluster/', '^lib/(display|notebook)/', 'cluster executors submit and follow units; presentation is above them'),
    layer('display-is-presentation', '^lib/display/', '^lib/(experiments|store|notebook)/', 'display/ turns values into mime bundles only'),
    layer('notebook-below-cli', '^lib/notebook/', '^lib/cli/', 'notebook composition sits below the commands'),
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
