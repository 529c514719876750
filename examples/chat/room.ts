/**
 * The room actor: lives on the server. Members join by passing a ref to their own inbox actor; whatever
 * one member says, the room delivers to every other inbox by calling it back. A member is known by the
 * identity its connection proved (`ctx.caller`), never by a name it claims.
 */
import 'reflect-metadata';
import { actor, type CallContext, callContext, isRpcError, type Ref, rpcError } from '../../src/index.js';
import type { Inbox } from './inbox.js';

/** How long one delivery may take before that member is dropped, ms. */
const DELIVERY_TIMEOUT_MS = 2_000;

interface Member {
  name: string;
  inbox: Ref<Inbox>;
}

/**
 * One message at a time (the default), so every member sees the same order. Deliveries go out one
 * member after another, each with a deadline: a member that cannot take one (gone, too slow) is
 * dropped, and the others still get theirs. An inbox must not call the room while handling a delivery:
 * the room is busy with that delivery, so the call would wait for the delivery's deadline.
 */
@actor('room', { allow: ['*'] })
export class Room {
  private readonly members = new Map<string, Member>();
  /** One line per member dropped: `name: CODE`. */
  private readonly dropped: string[] = [];

  /** Join with `inbox` (a ref to the caller's own actor). Resolves with who else is here. */
  async join(inbox: Ref<Inbox>): Promise<string[]> {
    const ctx = callContext();
    const { id, name } = who(ctx);
    const others = [...this.members.values()].map((m) => m.name);
    this.members.set(id, { name, inbox: inbox.withOptions({ timeoutMs: DELIVERY_TIMEOUT_MS }) });
    await this.broadcast('', `${name} joined`, id);
    return others;
  }

  /** Say `text` to everyone else. Resolves with how many inboxes took it. */
  async say(text: string): Promise<number> {
    const ctx = callContext();
    const { id, name } = who(ctx);
    if (!this.members.has(id)) throw rpcError('PERMISSION_DENIED', `${name} has not joined`);
    return this.broadcast(name, text, id);
  }

  async leave(): Promise<void> {
    const ctx = callContext();
    const { id, name } = who(ctx);
    if (this.members.delete(id)) await this.broadcast('', `${name} left`, id);
  }

  /** The names of the members, and the members dropped so far. */
  roster(): { members: string[]; dropped: string[] } {
    return { members: [...this.members.values()].map((m) => m.name), dropped: [...this.dropped] };
  }

  private async broadcast(from: string, text: string, except: string): Promise<number> {
    let delivered = 0;
    for (const [id, member] of [...this.members]) {
      if (id === except) continue;
      try {
        await member.inbox.receive(from, text);
        delivered++;
      } catch (err) {
        this.members.delete(id);
        this.dropped.push(`${member.name}: ${isRpcError(err) ? err.code : String(err)}`);
      }
    }
    return delivered;
  }
}

/** The caller's key id and name; the room admits only callers whose connection proved a key. */
function who(ctx: CallContext): { id: string; name: string } {
  const { id, name } = ctx.caller;
  if (id === undefined) throw rpcError('UNAUTHENTICATED', 'the room needs a caller with a key');
  return { id, name: name ?? id.slice(0, 8) };
}
