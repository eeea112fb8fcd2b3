/**
 * The import rules of gradlab's TypeScript (test/layers.test.ts runs them; by hand:
 * `npm run check:imports`). No cycles, and no arrow from a lower folder of ts/
 * to a higher one:
 *
 *   runtime ← eager ← model ← { data, trainer } ← doctor ← cli        index.ts imports them all
 *
 * workers/ (the worker entry) may import ts/, ts/ never imports workers/ or lab/, and the lab
 * imports gradlab only through its package name (the public barrel, dist/ts/index).
 */
const LIBRARY = ['runtime', 'eager', 'model', 'data', 'trainer', 'doctor', 'cli'];

/** What each folder of ts/ may not import: every folder at its level or above, and the barrel. */
const ABOVE = {
  runtime: ['eager', 'model', 'data', 'trainer', 'doctor', 'cli'],
  eager: ['model', 'data', 'trainer', 'doctor', 'cli'],
  model: ['data', 'trainer', 'doctor', 'cli'],
  data: ['trainer', 'doctor', 'cli'],
  trainer: ['data', 'doctor', 'cli'],
  doctor: ['cli'],
  cli: [],
};

const layerRules = LIBRARY.map((folder) => ({
  name: `${folder}-imports-only-lower-folders`,
  comment: `ts/${folder} may import only the folders below it (runtime ← eager ← model ← { data, trainer } ← doctor ← cli), never the barrel`,
  severity: 'error',
  from: { path: `^ts/${folder}/` },
  to: { path: ABOVE[folder].length > 0 ? [`^ts/(${ABOVE[folder].join('|')})/`, '^ts/index\\.ts$'] : '^ts/index\\.ts$' },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: one concept that should be one module, or a type in the wrong place',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'library-imports-no-entry-or-lab',
      comment: 'ts/ runs workers/ by URL and hands `gradlab lab` to the lab by package name; it imports neither',
      severity: 'error',
      from: { path: '^ts/' },
      to: { path: '^(workers|lab)/' },
    },
    {
      name: 'worker-imports-no-lab',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^lab/' },
    },
    {
      name: 'lab-uses-only-the-public-api',
      comment: "the lab imports its own files, packages and gradlab's public barrel (import … from 'gradlab'), nothing else of the library",
      severity: 'error',
      from: { path: '^lab/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^lab/', '^node_modules/', '^dist/ts/index\\.(js|d\\.ts)$'] },
    },
    {
      name: 'library-resolves-every-import',
      severity: 'error',
      from: { path: '^(ts|workers)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: ['^node_modules/', '^dist/', '^pkg/'] },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'types', 'default'] },
  },
};
