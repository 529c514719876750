/**
 * The shop example's actors: an inventory whose arguments are checked by zod schemas, which refuses
 * with a domain error (FAILED_PRECONDITION, reason OUT_OF_STOCK) and fails once with an unexpected
 * error (masked for the caller); and a front desk that calls it, so a trace spans two hops.
 */
import 'reflect-metadata';
import { z } from 'zod';
import { actor, callContext, method, type Ref, RpcError } from '../../src/index.js';

@actor('inventory')
export class Inventory {
  private readonly stock = new Map([
    ['pen', 3],
    ['ink', 0],
  ]);

  @method({ params: [z.string().min(1), z.number().int().positive()], result: z.number().int() })
  reserve(sku: string, quantity: number): number {
    const left = this.stock.get(sku) ?? 0;
    if (left < quantity) {
      throw new RpcError('FAILED_PRECONDITION', `only ${left} ${sku} left`, {
        reason: 'OUT_OF_STOCK',
        details: { sku, left },
      });
    }
    this.stock.set(sku, left - quantity);
    return left - quantity;
  }

  /** Fails the way real code does: with a message the caller must not see. */
  audit(): never {
    throw new Error(
      `ENOENT: no such file or directory, open '/srv/shop/audit-${callContext().metadata['request-id']}.log'`,
    );
  }
}

@actor('desk')
export class Desk {
  static inventory: Ref<Inventory> | undefined;

  /** One hop more: the desk's call to the inventory is a child of this call (same trace). */
  async order(sku: string, quantity: number): Promise<string> {
    const left = await Desk.inventory!.reserve(sku, quantity);
    return `${quantity} ${sku} reserved, ${left} left`;
  }
}
