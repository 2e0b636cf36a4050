// Gatehouse's folder-level layering rule, checked beside .dependency-cruiser.cjs on every `npm test` (npm run layers).
// A folder cycle is invisible to the module rules: revocation/x.ts → auth/y.ts and auth/z.ts → revocation/w.ts is
// no import cycle, yet neither folder can be read, tested or replaced without the other.
const base = require('./.dependency-cruiser.cjs');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'No two server/ folders depend on each other, directly or through others: each feature sits above or below the other.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^server/' },
      to: { path: '^server/', circular: true },
    },
  ],
  options: {
    ...base.options,
    exclude: {
      path: [
        ...[base.options.exclude.path].flat(),
        // The composition of every feature's settings: it imports each settings.ts, whose readers use its reader.
        '^server/config/',
        // metrics.ts still imports the features it counts, which use its counters: a circle of its own to undo.
        '^server/observability/',
      ],
    },
  },
};
