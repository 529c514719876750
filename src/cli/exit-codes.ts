/**
 * How a failed call becomes the exit status of `rxchan ping`, `list` and `call`: 10 plus the code's
 * gRPC number, so each RpcError code has its own status and none collides with 0 (done), 1 (the
 * command failed before any call), 2 (bad usage) or 128 + a signal (130: Ctrl-C).
 *
 * | code                | exit |
 * |---------------------|------|
 * | CANCELLED           | 11   |
 * | UNKNOWN             | 12   |
 * | INVALID_ARGUMENT    | 13   |
 * | DEADLINE_EXCEEDED   | 14   |
 * | NOT_FOUND           | 15   |
 * | ALREADY_EXISTS      | 16   |
 * | PERMISSION_DENIED   | 17   |
 * | RESOURCE_EXHAUSTED  | 18   |
 * | FAILED_PRECONDITION | 19   |
 * | ABORTED             | 20   |
 * | OUT_OF_RANGE        | 21   |
 * | UNIMPLEMENTED       | 22   |
 * | INTERNAL            | 23   |
 * | UNAVAILABLE         | 24   |
 * | DATA_LOSS           | 25   |
 * | UNAUTHENTICATED     | 26   |
 *
 * Codes rxchan does not have (yet) are listed so the table stays gRPC's; a code not in it exits as
 * UNKNOWN (12).
 */
import { type RpcError, toRpcError } from '../actors/errors.js';
import { stringify } from './json.js';

/** The gRPC number of each code (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const GRPC_NUMBERS: Readonly<Record<string, number>> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** Exit status after Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** The exit status for an RpcError code (see the table above). */
export function exitCodeFor(code: string): number {
  return 10 + (GRPC_NUMBERS[code] ?? GRPC_NUMBERS.UNKNOWN!);
}

/**
 * Prints a failed call to stderr as `CODE: message`, then its details as one line of JSON when it has
 * any; returns its exit status. `err` that is not an RpcError is printed as toRpcError makes it.
 */
export function reportCallError(
  err: unknown,
  write: (text: string) => void = (text) => process.stderr.write(text),
): number {
  const rpc: RpcError = toRpcError(err);
  write(`${rpc.code}: ${rpc.message}\n`);
  if (rpc.details !== undefined) write(`details: ${stringify(rpc.details)}\n`);
  return exitCodeFor(rpc.code);
}
