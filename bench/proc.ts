/**
 * What the bench reads about a process from Linux's /proc: CPU time (user + system, every thread) and resident
 * memory. Clock ticks are 10 ms on usual kernels, so a phase should spend at least a second of server CPU.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU time the process has used so far (user + system, all its threads), in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based), so 11 and 12 here.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks();
}

/** Resident set size of the process, bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Whether `taskset` can pin processes here (Linux with util-linux, at least two CPUs allowed). */
export function canPin(cpuCount: number): boolean {
  return cpuCount >= 2 && ['/usr/bin/taskset', '/bin/taskset', '/usr/sbin/taskset'].some((p) => existsSync(p));
}
