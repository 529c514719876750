/** One line describing where a benchmark ran, printed above its results. */
import { availableParallelism, cpus, totalmem } from 'node:os';

export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const mem = Math.round(totalmem() / 1024 ** 3);
  return `node ${process.version} · ${availableParallelism()} CPUs (${cpu}) · ${mem} GiB · ${process.platform}/${process.arch} · ${new Date().toISOString()}`;
}
