import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { loadConfig, type GatewayConfig } from '../config';
import { Gateway } from '../gateway';
import { createLogger } from '../log';
import { stdoutLogDestination } from '../log-destination';
import { runtimeRegistry } from '../observability/runtime-metrics';
import { superviseWorkers } from '../workers/primary';
import { joinGroup } from '../workers/worker';
import { listenProblem } from './listen-problem';
import { notice } from './notices';
import { stopOnSignals } from './signals';
import { startSummary } from './start-summary';
import { StartError } from './usage';

/** How long the last log lines get to leave the process before it exits, ms. */
const LOG_FLUSH_MS = 500;
/** The backstop fires this long after the shutdown timeout, ms. */
const BACKSTOP_GRACE_MS = 2000;

/**
/**
 * `gatehouse start`: runs one gateway node until SIGTERM or SIGINT, and resolves undefined; with GATEHOUSE_WORKERS
 * above 1 this process only supervises that many worker processes, each such a node. With `--check` it only reads and
 * validates the configuration as a start would (a bad one throws ConfigError, every problem listed), writes one line
 * saying it is valid, and resolves 0 without listening or connecting to anything.
 */
export async function startCommand(args: string[], env: NodeJS.ProcessEnv, out: { write(text: string): unknown }): Promise<number | undefined> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, check: { type: 'boolean' } }, strict: true });
  const config = loadConfig({ env, configFile: values.config });
  if (values.check) {
    const mode = config.devMode ? 'development mode: no key is configured' : config.production ? 'production' : 'keys configured';
    out.write(`gatehouse: the configuration is valid (${mode}); a start would listen on ${config.host}:${config.port}\n`);
    return 0;
  }
  const log = createLogger(config.logLevel, { service: 'gatehouse', nodeId: config.nodeId });
  const flushLog = () => stdoutLogDestination().flush(LOG_FLUSH_MS);
  const grouped = config.workers > 1;
  if (grouped && cluster.isPrimary) {
    superviseWorkers({
      config,
      log,
      backstopGraceMs: BACKSTOP_GRACE_MS,
      signals: process,
      started: ({ url, address, adminAddress }) =>
        notice(
          startSummary({
            config,
            nodeId: `${config.nodeId}-1 … ${config.nodeId}-${config.workers}, ${config.workers} workers`,
            pid: process.pid,
            url,
            address,
            adminAddress,
          }),
        ),
      exit: (status) =>
        void flushLog().then(
          () => process.exit(status),
          () => process.exit(status),
        ),
    });
    return undefined;
  }
  const gateway = new Gateway(config, { log });
  const group = grouped
    ? joinGroup(gateway, {
        registries: [gateway.metrics.registry, runtimeRegistry()],
        channel: process,
      })
    : undefined;
  if (group) gateway.metrics.exposeFrom(() => group.metrics());
  try {
    await gateway.listen();
  } catch (err) {
    const problem = listenProblem(err, config);
    // Whatever the constructor started (Redis connections, timers) must not keep the process alive.
    await gateway.close().catch(() => undefined);
    // The channel to the primary keeps a worker alive; closing it lets this one exit, which the primary counts.
    if (group) process.disconnect?.();
    if (problem) throw new StartError(problem);
    throw err;
  }

  log.info({ url: gateway.url, devMode: config.devMode }, 'listening');
  if (group) {
    // The primary prints the one summary for the group.
    group.listening(gateway.url, gateway.address(), gateway.operations.adminAddress());
  } else {
    notice(
      startSummary({
        config,
        nodeId: gateway.nodeId,
        pid: process.pid,
        url: gateway.url,
        address: gateway.address(),
        adminAddress: gateway.operations.adminAddress(),
      }),
    );
  }
  if (config.devMode) notice(devModeNotice(gateway, config));
  stopOnSignals(gateway, {
    log,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    backstopGraceMs: BACKSTOP_GRACE_MS,
    flushLog,
    exit: (status) => process.exit(status),
    signals: process,
  });
  return undefined;
}

function devModeNotice(gateway: Gateway, config: GatewayConfig): string {
  const { token } = gateway.engine.issue({ sub: 'dev-user', channels: ['*'] });
  // A refusal must be visible without configuring keys: this token's only grant is reading the lobby.
  const restricted = gateway.engine.issue({ sub: 'dev-guest', channels: { 'chat:lobby': ['subscribe'] } }).token;
  return [
    '',
    'DEVELOPMENT MODE: no key is configured, so this node made an ephemeral random HS256 key and listens on',
    '127.0.0.1 only. Tokens die with the process. For production set GATEHOUSE_AUTH_KEY (or _FILE) or',
    'GATEHOUSE_JWKS_FILE; with NODE_ENV=production a missing key refuses to start.',
    '',
    // Not GATEHOUSE_*: the config reader refuses unknown GATEHOUSE_ names, so pasted exports would stop every later
    // `npm start` or `gatehouse token` in that shell.
    `Sample token (sub "dev-user", every channel, ${config.tokenTtlMs / 60_000} min); in another shell:`,
    `export SAMPLE_TOKEN=${token}`,
    '',
    'Restricted sample token (sub "dev-guest", channels {"chat:lobby":["subscribe"]}; subscribing to staff:room is refused):',
    `export SAMPLE_TOKEN_RESTRICTED=${restricted}`,
    '',
  ].join('\n');
}
