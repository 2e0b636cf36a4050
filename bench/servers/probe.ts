/**
 * Preloaded (`node --expose-gc -r probe.cjs SERVER`) into every benchmarked server, whatever the system. It answers
 * the bench's IPC questions and adds no work between two of them:
 * - `{cmd: 'mem'}`: a full GC, then the memory figures;
 * - `{cmd: 'profile-start', intervalUs}` / `{cmd: 'profile-stop', file}`: a CPU profile of exactly one measured window
 *   (bench/profile.ts), written as a .cpuprofile.
 * The server's CPU time is read from /proc by the bench, not from here.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

let session: Session | undefined;

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
}

async function answer(message: { cmd?: string; id?: number; intervalUs?: number; file?: string }): Promise<unknown> {
  switch (message.cmd) {
    case 'mem': {
      const gc = (globalThis as { gc?: () => void }).gc;
      // Twice: the first pass may leave finalizer work that the second collects.
      gc?.();
      gc?.();
      const m = process.memoryUsage();
      return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers };
    }
    case 'profile-start':
      session = new Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: message.intervalUs ?? 200 });
      await post('Profiler.start');
      return { ok: true };
    case 'profile-stop': {
      const { profile } = await post<{ profile: unknown }>('Profiler.stop');
      session?.disconnect();
      session = undefined;
      writeFileSync(message.file!, JSON.stringify(profile));
      return { file: message.file };
    }
    default:
      return undefined;
  }
}

process.on('message', (message: { cmd?: string; id?: number }) => {
  answer(message).then(
    (result) => {
      if (result !== undefined) process.send?.({ id: message.id, result });
    },
    (err: Error) => process.send?.({ id: message.id, error: err.message }),
  );
});
// The IPC channel must not keep a server alive that would otherwise exit; a bench that died takes its servers along.
process.channel?.unref();
process.on('disconnect', () => process.exit(0));
