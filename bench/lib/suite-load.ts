/**
 * Drivers of the suite benchmark that measure CPU time as well as rate. Every driver is bounded in time:
 * it rejects after its window plus a grace period, or after its limit, instead of hanging.
 */
import { deadline, GRACE_MS, inFlightWindow } from './load.js';
import { nowMs } from './stats.js';

/** The server's side of a measured window (a child peer measuring itself). */
export interface ServerWindow<T> {
  begin(): Promise<unknown>;
  end(): Promise<T>;
}

/** Result of {@link inFlightMeasured}. */
export interface InFlightRun<T> {
  /** Completed calls per second over the window. */
  rate: number;
  /** Calls completed within the window. */
  calls: number;
  /** CPU time (user + system) of this process over the window, µs. */
  clientCpuUs: number;
  /** What the server measured over the same window. */
  server: T;
}

/**
 * `n` workers calling back to back for `ms`, on whatever connection `call` uses; the server measures
 * itself over the same window (begun before the first call, ended when the window closes, skewed by
 * one IPC message). The window is closed by a timer, not by reading the clock per call; calls still in
 * flight when it closes are awaited but not counted.
 */
export async function inFlightMeasured<T>(
  call: () => Promise<unknown>,
  n: number,
  ms: number,
  server: ServerWindow<T>,
  what: string,
): Promise<InFlightRun<T>> {
  await server.begin();
  let stop: { calls: number; at: number; cpu: NodeJS.CpuUsage; server: Promise<T> } | undefined;
  const cpu = process.cpuUsage();
  const start = nowMs();
  await inFlightWindow(call, n, ms, what, (completed) => {
    const ended = server.end();
    ended.catch(() => undefined); // awaited below; must not count as unhandled meanwhile
    stop = { calls: completed, at: nowMs(), cpu: process.cpuUsage(cpu), server: ended };
  });
  if (!stop) throw new Error(`${what}: window never closed`);
  return {
    rate: stop.calls / ((stop.at - start) / 1000),
    calls: stop.calls,
    clientCpuUs: stop.cpu.user + stop.cpu.system,
    server: await deadline(stop.server, GRACE_MS, `${what} server window`),
  };
}

/** Poll `read` every `everyMs` until `done` holds for its value; rejects after `limitMs`. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  limitMs: number,
  what: string,
  everyMs = 50,
): Promise<T> {
  const end = nowMs() + limitMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (nowMs() > end)
      throw new Error(`${what}: not reached within ${limitMs} ms (last: ${JSON.stringify(v)})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
