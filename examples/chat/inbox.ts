/**
 * The inbox actor: lives in each CLIENT's actor system. A client hands a ref to its inbox to the room,
 * and the room calls it back, over the connection the client opened, with what others say.
 */
import 'reflect-metadata';
import { inject } from 'tsyringe';
import { actor, callContext } from '../../src/index.js';
import type { Log } from '../lib/run.js';

/** What an inbox received; given to it by its system's container, so its owner can read it. */
export interface Transcript {
  readonly owner: string;
  /** Every line received, in order: `from: text`, or `* notice` for a notice from the room. */
  readonly lines: string[];
  /** Key ids of whoever called the inbox (only the room's server should). */
  readonly callers: Set<string | undefined>;
}

/** Token of the inbox's {@link Transcript} in the client system's container. */
export const TRANSCRIPT = 'chat.transcript';
/** Token of the log the inbox prints to. */
export const CHAT_LOG = 'chat.log';

@actor('inbox')
export class Inbox {
  constructor(
    @inject(TRANSCRIPT) private readonly transcript: Transcript,
    @inject(CHAT_LOG) private readonly log: Log,
  ) {}

  /** A message from `from` ('' for a notice from the room). */
  receive(from: string, text: string): void {
    const ctx = callContext();
    const line = from === '' ? `* ${text}` : `${from}: ${text}`;
    this.transcript.lines.push(line);
    this.transcript.callers.add(ctx.caller.id);
    this.log(`[${this.transcript.owner}] ${line}`);
  }
}
