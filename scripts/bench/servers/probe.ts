/**
 * Preloaded (`node --expose-gc -r probe.cjs SERVER`) into every benchmarked server, whatever the system: on the
 * bench's IPC message `{cmd: 'mem'}` it runs a full GC and answers the memory figures. It adds no work to the server
 * between two questions. The server's CPU time is read from /proc by the bench, not from here.
 */
process.on('message', (message: { cmd?: string; id?: number }) => {
  if (message?.cmd !== 'mem') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  // Twice: the first pass may leave finalizer work that the second collects.
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  process.send?.({ id: message.id, mem: { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers } });
});
// The IPC channel must not keep a server alive that would otherwise exit; a bench that died takes its servers along.
process.channel?.unref();
process.on('disconnect', () => process.exit(0));
