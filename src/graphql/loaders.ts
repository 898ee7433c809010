import type { EntityManager, EntityName, FilterQuery, QueryOrderMap } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import { NotFoundError } from '../shared/errors';

/** A primary key: an integer, or a bigint read as a string. */
type Id = number | string;

/** An entity with a primary key `id`. */
interface WithId {
  id: Id;
}

/** The id of a to-one relation's target (a loaded entity or a reference), as a map key. */
function keyOf(value: unknown): string {
  return String((value as WithId).id);
}

/**
 * Per-request batching (DataLoader) for field resolvers: whatever the rows of a page ask for
 * in the same tick is read with one statement per kind, so a page of 100 costs what a page of
 * 10 does. A request's loaders live and die with its EntityManager, which also keeps what
 * was read (its identity map).
 */
export class Loaders {
  private readonly loaders = new Map<string, DataLoader<Id, unknown>>();

  constructor(private readonly em: EntityManager) {}

  /** The record of `entity` with this id (NOT_FOUND error when there is none). */
  one<T extends WithId>(entity: EntityName<T> & { name: string }, id: Id): Promise<T> {
    const loader = this.loader<T>(`one:${entity.name}`, async (ids) => {
      const rows = await this.em.find(entity, {
        id: { $in: [...ids] },
      } as unknown as FilterQuery<T>);
      const byId = new Map(rows.map((r) => [String(r.id), r]));
      return ids.map((id) => byId.get(String(id)) ?? new NotFoundError(entity.name));
    });
    return loader.load(id);
  }

  /**
   * The records of `entity` whose `parent` relation points at `parentId`, in `orderBy` order;
   * `where` narrows them (the same for every parent; part of the batch's key as `variant`).
   */
  children<T extends object>(
    entity: EntityName<T> & { name: string },
    parent: keyof T & string,
    parentId: Id,
    options: {
      readonly orderBy: QueryOrderMap<T>;
      readonly where?: FilterQuery<T>;
      /** Relations to read along (the same for every parent). */
      readonly populate?: readonly string[];
      readonly variant?: string;
    },
  ): Promise<T[]> {
    const key = `children:${entity.name}.${parent}:${options.variant ?? ''}`;
    const loader = this.loader<T[]>(key, async (parentIds) => {
      const where = {
        ...(options.where as object | undefined),
        [parent]: { $in: [...parentIds] },
      } as FilterQuery<T>;
      const rows = await this.em.find(entity, where, {
        orderBy: options.orderBy,
        populate: (options.populate ?? []) as never,
      });
      const grouped = new Map<string, T[]>(parentIds.map((id) => [String(id), []]));
      for (const row of rows) grouped.get(keyOf(row[parent]))?.push(row);
      return parentIds.map((id) => grouped.get(String(id))!);
    });
    return loader.load(parentId);
  }

  /**
   * The records of `entity` linked to `ownerId` through a many-to-many pivot table, in
   * `compare` order: one statement for the pivot rows of every owner asked for in the tick,
   * and one for the records. (MikroORM's collection dataloader did the same matching in a
   * way that cost a feature page several milliseconds.)
   */
  related<T extends WithId>(
    entity: EntityName<T> & { name: string },
    pivot: { readonly table: string; readonly owner: string; readonly target: string },
    ownerId: Id,
    compare: (a: T, b: T) => number,
  ): Promise<T[]> {
    const key = `related:${entity.name}:${pivot.table}`;
    const loader = this.loader<T[]>(key, async (ownerIds) => {
      const links: { owner: Id; target: Id }[] = await this.em
        .getConnection()
        .execute(
          `select "${pivot.owner}" as owner, "${pivot.target}" as target from "${pivot.table}" where "${pivot.owner}" in (${ownerIds.map(() => '?').join(', ')})`,
          [...ownerIds],
          'all',
          this.em.getTransactionContext(),
        );
      const targets = links.length
        ? await this.em.find(entity, {
            id: { $in: [...new Set(links.map((l) => l.target))] },
          } as unknown as FilterQuery<T>)
        : [];
      const byId = new Map(targets.map((t) => [String(t.id), t]));
      const grouped = new Map<string, T[]>(ownerIds.map((id) => [String(id), []]));
      for (const link of links) {
        const target = byId.get(String(link.target));
        if (target) grouped.get(String(link.owner))?.push(target);
      }
      return ownerIds.map((id) => grouped.get(String(id))!.sort(compare));
    });
    return loader.load(ownerId);
  }

  private loader<V>(
    key: string,
    batch: (keys: readonly Id[]) => Promise<(V | Error)[]>,
  ): DataLoader<Id, V> {
    let loader = this.loaders.get(key) as DataLoader<Id, V> | undefined;
    if (!loader) {
      loader = new DataLoader<Id, V>(batch, { maxBatchSize: 1000, cacheKeyFn: String });
      this.loaders.set(key, loader as DataLoader<Id, unknown>);
    }
    return loader;
  }
}
