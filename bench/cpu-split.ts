/**
 * Who had the cores during a phase whose processes come and go (a worker killed and its replacement started): CPU per
 * group of processes between two snapshots, as % of one core, and the whole machine's busy share from /proc/stat. A
 * pid missing from the first snapshot counts from its birth; a pid gone by the second (the killed worker) is left out.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { cpuMicros } from './proc';

export interface CpuSnapshot {
  readonly at: number;
  readonly byPid: ReadonlyMap<number, { readonly group: string; readonly us: number }>;
  /** All cores' busy and total time from /proc/stat, in clock ticks. */
  readonly machine: { readonly busy: number; readonly total: number };
}

/** CPU per group as % of one core (so up to 100 × cores in all), and the machine's busy % of all its cores. */
export interface CpuSplit {
  readonly seconds: number;
  readonly percentOfCore: Record<string, number>;
  readonly machineBusyPercent: number;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // cpu  user nice system idle iowait irq softirq steal …; idle and iowait are the time no one wanted a core.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3] - ticks[4], total };
}

/** Reads every group's processes now; a process that exits between listing and reading is skipped. */
export function cpuSnapshot(groups: Record<string, readonly number[]>): CpuSnapshot {
  const byPid = new Map<number, { group: string; us: number }>();
  for (const [group, pids] of Object.entries(groups)) {
    for (const pid of pids) {
      try {
        byPid.set(pid, { group, us: cpuMicros(pid) });
      } catch {
        // gone already
      }
    }
  }
  return { at: performance.now(), byPid, machine: machineTicks() };
}

export function cpuSplit(from: CpuSnapshot, to: CpuSnapshot): CpuSplit {
  const seconds = (to.at - from.at) / 1000;
  const percentOfCore: Record<string, number> = {};
  for (const [pid, { group, us }] of to.byPid) {
    const used = us - (from.byPid.get(pid)?.us ?? 0);
    percentOfCore[group] = (percentOfCore[group] ?? 0) + (used / 1e6 / Math.max(seconds, 1e-3)) * 100;
  }
  const total = to.machine.total - from.machine.total;
  const machineBusyPercent = total > 0 ? ((to.machine.busy - from.machine.busy) / total) * 100 : NaN;
  return { seconds, percentOfCore, machineBusyPercent };
}

/** One line: `survivors 74, new workers 12, … of 200; machine busy 98 %`. */
export function formatSplit(split: CpuSplit): string {
  const parts = Object.entries(split.percentOfCore).map(([group, p]) => `${group} ${p.toFixed(0)}`);
  return `${parts.join(', ')} (% of a core, of ${cpus().length * 100}); machine busy ${split.machineBusyPercent.toFixed(0)} %`;
}
