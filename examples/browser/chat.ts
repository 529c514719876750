/**
 * The chat actor: one room. `post(text)` says something; `messages()` replays the recent messages,
 * then every new one. The sender of each message is the name the server's authorized keys give the
 * caller's key (`callContext().caller.name`): a page cannot claim a name, only prove its key.
 */
import 'reflect-metadata';
import { type Observable, ReplaySubject } from 'rxjs';
import { actor, callContext, rpcError } from '../../src/index.js';

/** Messages a new subscriber gets replayed. */
export const HISTORY = 50;
/** Longest message, characters. */
export const MAX_TEXT = 500;

export interface ChatMessage {
  /** 1, 2, 3, ... in the order the room took them. */
  seq: number;
  /** The sender's authorized name. */
  from: string;
  text: string;
  /** The server's clock, ms since the epoch. */
  at: number;
}

@actor('chat')
export class Chat {
  private readonly room = new ReplaySubject<ChatMessage>(HISTORY);
  private seq = 0;

  /**
   * Posts `text` (trimmed) as the caller. Resolves with the message as the room took it. Fails
   * INVALID_ARGUMENT for a text that is not a string, is empty, or is longer than MAX_TEXT, and
   * UNAUTHENTICATED for a caller without a name (a connection without a key).
   */
  post(text: unknown): ChatMessage {
    const from = callContext().caller?.name;
    if (from === undefined) throw rpcError('UNAUTHENTICATED', 'the chat needs a caller with a name');
    if (typeof text !== 'string') throw rpcError('INVALID_ARGUMENT', 'text must be a string');
    const trimmed = text.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_TEXT)
      throw rpcError('INVALID_ARGUMENT', `text must be 1 to ${MAX_TEXT} characters`);
    const message = { seq: ++this.seq, from, text: trimmed, at: Date.now() };
    this.room.next(message);
    return message;
  }

  /** The caller's authorized name: what its messages will say. */
  me(): string | undefined {
    return callContext().caller?.name;
  }

  /** The last HISTORY messages, then each new one, until unsubscribed. */
  messages(): Observable<ChatMessage> {
    return this.room.asObservable();
  }

  onStop(): void {
    this.room.complete();
  }
}
