let stderrBroken = false;
let guarded = false;

/**
 * notice writes a human note (where the node listens, development mode) to stderr. A stderr whose reader is gone
 * (EPIPE) is ignored from then on instead of crashing the node: the notes are for a person, the node's work goes on.
 */
export function notice(text: string): void {
  if (!guarded) {
    guarded = true;
    process.stderr.on('error', () => {
      stderrBroken = true;
    });
  }
  if (stderrBroken) return;
  try {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  } catch {
    stderrBroken = true;
  }
}
