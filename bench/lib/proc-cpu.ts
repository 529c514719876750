/**
 * CPU time of a process tree from /proc (Linux only), for processes this one did not write, such as
 * Chromium's browser, renderer and network service processes. Resolution is one clock tick (usually
 * 10 ms), so it suits windows of a second or more.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** pid → [ppid, user + system ticks] of every process readable now; a process that exits meanwhile is skipped. */
function snapshot(): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(name), [Number(fields[1]), Number(fields[11]) + Number(fields[12])]);
  }
  return out;
}

/**
 * What a process is, from its command line: Chromium's `--type=` (`renderer`, `gpu-process`, …; a
 * utility process by its `--utility-sub-type=`), else 'main'. '' when the process has gone.
 */
function role(pid: number): string {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
  const type = /--type=([\w.-]+)/.exec(cmdline)?.[1];
  if (type === undefined) return 'main';
  if (type === 'utility') return /--utility-sub-type=([\w.-]+)/.exec(cmdline)?.[1] ?? 'utility';
  return type;
}

/**
 * CPU time, µs, used so far by the descendants of `root` (not `root` itself), leaving out the subtrees
 * of `exclude`, by role (see {@link role}). Exited descendants no longer count, so compare two readings
 * of a tree that lives on.
 */
export function descendantsCpuUs(root: number, exclude: readonly number[] = []): Map<string, number> {
  const procs = snapshot();
  const children = new Map<number, number[]>();
  for (const [pid, [ppid]] of procs) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const skip = new Set(exclude);
  const out = new Map<string, number>();
  const stack = [...(children.get(root) ?? [])];
  // Bounded by the number of processes: a pid is visited once, as each has one parent.
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (skip.has(pid)) continue;
    const r = role(pid);
    out.set(r, (out.get(r) ?? 0) + ((procs.get(pid)?.[1] ?? 0) * 1e6) / clockTicks());
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}
