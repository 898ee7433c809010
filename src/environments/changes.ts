import type { EntityManager, MikroORM, TransactionEventArgs } from '@mikro-orm/core';

/**
 * Environment change notifications inside one process. Services record which environments
 * a transaction changed (`markChanged`, via `touchEnvironments`/`environmentsChanged`);
 * once that transaction commits, the ids are published to the subscribers (the SDK cache
 * and the realtime stream). Nothing is published for a rolled-back transaction.
 */
export type ChangeListener = (environmentIds: readonly number[]) => void;

export class EnvironmentChanges {
  private readonly listeners = new Set<ChangeListener>();

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(environmentIds: readonly number[]): void {
    if (environmentIds.length === 0) return;
    for (const listener of this.listeners) listener(environmentIds);
  }

  /** Publishes what each committed transaction of this ORM marked as changed. */
  attach(orm: MikroORM): void {
    orm.em.getEventManager().registerSubscriber({
      afterTransactionCommit: (args: TransactionEventArgs): void => {
        // Every hub attached to this ORM sees the ids; the entry goes with the transaction.
        const trx = args.transaction as object | undefined;
        const ids = trx && pending.get(trx);
        if (ids) this.publish([...ids]);
      },
    });
  }
}

/** Environment ids changed by each open root transaction (knex transaction objects). */
const pending = new WeakMap<object, Set<number>>();

/** The root of a (possibly nested) transaction: MikroORM links a savepoint to its parent. */
export function rootTransaction(trx: object): object {
  for (;;) {
    const link = Object.getOwnPropertySymbols(trx).find(
      (s) => s.description === 'parentTransaction',
    );
    const parent: unknown = link && (trx as Record<symbol, unknown>)[link];
    if (typeof parent !== 'object' && typeof parent !== 'function') return trx;
    if (parent === null) return trx;
    trx = parent;
  }
}

/** Records environments a transaction changed; they are published when it commits. */
export function markChanged(tx: EntityManager, environmentIds: readonly number[]): void {
  const current = tx.getTransactionContext<object>();
  if (!current) throw new Error('environment changes must be recorded inside a transaction');
  markChangedIn(current, environmentIds);
}

/** `markChanged` given the (knex) transaction object itself. */
export function markChangedIn(trx: object, environmentIds: readonly number[]): void {
  // Savepoints belong to their root transaction: only its commit is final.
  const root = rootTransaction(trx);
  let ids = pending.get(root);
  if (!ids) pending.set(root, (ids = new Set()));
  for (const id of environmentIds) ids.add(id);
}
