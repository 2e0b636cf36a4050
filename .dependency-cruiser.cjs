// Gatehouse's layering rules, checked on every `npm test` (npm run layers). Each rule's name is what a failure prints,
// followed by the import that breaks it. README "Layout" explains the architecture these rules keep.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-import-cycles',
      comment: 'No import cycles anywhere in server/, shared/ or client/ (type-only imports count too).',
      severity: 'error',
      from: { path: '^(server|shared|client)/' },
      to: { circular: true },
    },
    {
      name: 'shared-imports-only-shared',
      comment: 'shared/ is pure protocol code for server and browser: nothing outside shared/, no Node, SocketCluster or Redis.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { pathNot: '^shared/' },
    },
    {
      name: 'client-never-imports-server',
      comment: 'The browser client builds on shared/ and socketcluster-client only.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: '^server/' },
    },
    {
      name: 'server-never-imports-client',
      comment: 'The server serves the built client bundle as a file; it never imports client code.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^client/' },
    },
    {
      name: 'ioredis-only-in-redis-modules',
      comment: 'Only server/redis/ and the Redis implementations (files named redis-*.ts) import ioredis.',
      severity: 'error',
      from: { path: '^(server|shared|client)/', pathNot: ['^server/redis/', '/redis-[^/]+\\.ts$'] },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'socketcluster-internals-only-in-sc',
      comment: 'Only server/sc/ loads socketcluster-server, ag-simple-broker or ws at run time (their seams: server/sc/seams.ts); elsewhere their types only.',
      severity: 'error',
      from: { path: '^(server|shared|client)/', pathNot: '^server/sc/' },
      to: { path: 'node_modules/(@types/)?(socketcluster-server|ag-simple-broker|ws)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'channels-policy-is-socket-free',
      comment: 'server/channels/ is pure policy; its one middleware adapter (install.ts) alone touches sockets, the host or Redis.',
      severity: 'error',
      from: { path: '^server/channels/', pathNot: '^server/channels/install\\.ts$' },
      to: {
        path: [
          'node_modules/(socketcluster-server|socketcluster-client|ag-[^/]+|ws|ioredis)/',
          '^server/(sc|redis|cluster|middleware|revocation|procedures)/',
          '^server/(host|gateway)\\.ts$',
          '^server/auth/auth-watch\\.ts$',
        ],
      },
    },
    {
      name: 'channels-never-import-grants',
      comment:
        'The channel policy consults per-user overrides through its own GrantOverrides interface; live grants (server/grants/) plug into it, never the other way round.',
      severity: 'error',
      from: { path: '^server/channels/' },
      to: { path: '^server/grants/' },
    },
    {
      name: 'no-feature-imports-the-gateway',
      comment: 'Features plug into the narrow GatewayHost (server/host.ts); only the CLI entry builds the composition root.',
      severity: 'error',
      from: { path: '^server/', pathNot: ['^server/gateway\\.ts$', '^server/cli/start-command\\.ts$'] },
      to: { path: '^server/gateway\\.ts$' },
    },
    {
      name: 'observability-imports-no-feature',
      comment:
        "server/observability/ is the node's metrics registry and its plumbing: features add their own series through the host, so it names none of them.",
      severity: 'error',
      from: { path: '^server/observability/' },
      to: {
        path: '^server/',
        pathNot: ['^server/observability/', '^server/(host|log|clock)\\.ts$', '^server/config/'],
      },
    },
    {
      name: 'config-imports-no-feature-runtime',
      comment:
        "server/config/ composes each feature's own settings reader (settings.ts), which reads its file formats, with the reader of server/settings-kit/; never runtime code.",
      severity: 'error',
      from: { path: '^server/config/' },
      to: {
        path: '^server/',
        pathNot: ['^server/config/', '^server/settings-kit/', '^server/[^/]+/settings\\.ts$', '^server/log\\.ts$'],
      },
    },
    {
      name: 'gateway-never-imports-the-bench',
      comment: 'bench/ is a package of its own that measures the gateway; the gateway and its published build never need it.',
      severity: 'error',
      from: { path: '^(server|shared|client)/' },
      to: { path: '^bench/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^test/fixtures/' },
  },
};
