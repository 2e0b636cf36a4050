import { run } from './cli/run';

run(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`gatehouse: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
