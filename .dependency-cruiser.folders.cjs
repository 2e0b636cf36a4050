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
        // Each feature's settings reader is config's by design: config/ composes them and they use its reader.
        '^server/[^/]+/settings\\.ts$',
      ],
    },
  },
};
