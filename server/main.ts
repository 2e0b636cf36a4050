import { run } from './cli/run';

run(process.argv.slice(2)).then(
  (status) => {
    // exitCode, not exit(): what was written to a pipe still gets out.
    if (status !== undefined) process.exitCode = status;
  },
  (err) => {
    process.stderr.write(`gatehouse: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
