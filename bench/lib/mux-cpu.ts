/**
 * CPU time of the two processes of a benchmark run: where a transport spends, and whether it waits. On a
 * shared machine CPU per unit of work is steadier than wall time, and a side that is far from busy for the
 * whole run is waiting (on the other side, or on flow control), not computing.
 *
 * This process: `process.cpuUsage()` (µs). The child: `/proc/<pid>/stat` utime + stime, in clock ticks of
 * 10 ms (Linux's USER_HZ is 100 on every mainstream build), so a child figure is only good to ±10 ms;
 * undefined where there is no /proc.
 */
import { readFileSync } from 'node:fs';

/** CPU ms (user + system) this process has used so far. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU ms (user + system) process `pid` has used so far, or undefined when /proc cannot tell. */
export function childCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) end with ") ": utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** A run's result with the CPU ms each side used during it (child undefined when unknown). */
export interface Measured<T> {
  readonly value: T;
  readonly selfMs: number;
  readonly childMs: number | undefined;
}

/** Runs `fn` and measures the CPU both processes used meanwhile. */
export async function measureCpu<T>(childPid: number, fn: () => Promise<T>): Promise<Measured<T>> {
  const self0 = selfCpuMs();
  const child0 = childCpuMs(childPid);
  const value = await fn();
  const child1 = childCpuMs(childPid);
  return {
    value,
    selfMs: selfCpuMs() - self0,
    childMs: child0 === undefined || child1 === undefined ? undefined : child1 - child0,
  };
}
