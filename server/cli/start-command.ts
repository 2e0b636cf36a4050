import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { Gateway } from '../gateway';
import { createLogger } from '../log';

/** `gatehouse start`: runs one gateway node until SIGTERM or SIGINT. */
export async function startCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const config = loadConfig({ env, configFile: values.config });
  const log = createLogger(config.logLevel, { service: 'gatehouse', nodeId: config.nodeId });
  const gateway = new Gateway(config, { log });
  await gateway.listen();

  log.info({ url: gateway.url, devMode: config.devMode }, 'listening');
  process.stderr.write(`Gatehouse listening on ${gateway.url} (health: http://${config.host}:${gateway.address().port}/healthz)\n`);
  if (config.devMode) {
    const { token } = gateway.engine.issue({ sub: 'dev-user', channels: ['*'] });
    process.stderr.write([
      '',
      'DEVELOPMENT MODE: no key is configured, so this node made an ephemeral random HS256 key and listens on',
      '127.0.0.1 only. Tokens die with the process. For production set GATEHOUSE_AUTH_KEY (or _FILE) or',
      'GATEHOUSE_JWKS_FILE; with NODE_ENV=production a missing key refuses to start.',
      '',
      `Sample token (sub "dev-user", every channel, ${config.tokenTtlMs / 60_000} min):`,
      `GATEHOUSE_SAMPLE_TOKEN=${token}`,
      '',
    ].join('\n'));
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A backstop in case something refuses to close: the process still ends shortly after the timeout.
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 2000).unref();
    gateway.close().then(
      () => {
        log.info('shut down');
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => gateway.reload());
}
