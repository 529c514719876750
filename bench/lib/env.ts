/** Benchmark settings from the environment. */

/**
 * The integer in env var `name`, or `fallback` when it is unset or empty. Throws (naming the variable)
 * when it is not a safe integer or is below `min`.
 */
export function envInt(name: string, fallback: number, min: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
  return n;
}
