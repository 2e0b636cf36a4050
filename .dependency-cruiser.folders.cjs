// Gatehouse's folder-level layering rule, checked beside .dependency-cruiser.cjs on every `npm test` (npm run layers).
// A folder cycle is invisible to the module rules: revocation/x.ts → auth/y.ts and auth/z.ts → revocation/w.ts is
// no import cycle, yet neither folder can be read, tested or replaced without the other. It also keeps the settings
// layered: config/ composes every feature's settings.ts, and those read with server/settings-kit/ and take the
// node's own slice from server/node/, so a feature that imported config/, or a kit that imported a feature, closes a
// circle.
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
  options: base.options,
};
