import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/core';
import { parseId } from './id-arg';
import { AppError, ValidationError } from './errors';

/**
 * Runs an action over many items in one transaction: all of it, or (on any item's error)
 * none of it. An item's error is passed on naming the item (`ids.3: …`, `field: ids.3…`).
 * Permissions are checked before this runs (the `each` requirement), on the request's
 * EntityManager; nothing here may use it.
 */
export async function allOrNothing<T, R>(
  em: EntityManager,
  items: readonly T[],
  arg: string,
  run: (tx: EntityManager, item: T, index: number) => Promise<R>,
): Promise<R[]> {
  return em.transactional(async (tx) => {
    const results: R[] = [];
    for (const [index, item] of items.entries()) {
      try {
        results.push(await run(tx, item, index));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const field = err.extensions.field;
        throw new AppError(err.code, `${arg}.${index}: ${err.message}; nothing was changed`, {
          ...err.extensions,
          field: typeof field === 'string' ? `${arg}.${index}.${field}` : `${arg}.${index}`,
        });
      }
    }
    return results;
  });
}

/**
 * The records a list argument names, in its order, each once (the `each` requirement has
 * already checked that every one exists and may be acted on).
 */
export async function loadAll<T extends { id: number }>(
  em: EntityManager,
  entity: EntityName<T>,
  ids: readonly string[],
  arg: string,
): Promise<T[]> {
  const wanted = [...new Set(ids.map((id, i) => parseId(id, `${arg}.${i}`)))];
  const rows = await em.find(entity, { id: { $in: wanted } } as unknown as FilterQuery<T>);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return wanted.map((id) => {
    const row = byId.get(id);
    if (!row) throw new ValidationError(arg, `no record with id ${id}`);
    return row;
  });
}
