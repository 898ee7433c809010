import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { NotFoundError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import type { PermissionKey } from './keys';
import type { PermissionService, Scoped } from './permission.service';

/**
 * Loads the record an argument names, or fails with NOT_FOUND naming the argument when
 * there is none or the caller may not see it (`visibility` on the record): the two answers
 * are the same, so ids cannot be probed. Queries and mutations answer alike.
 */
export async function findVisible<T extends Scoped>(
  em: EntityManager,
  p: PermissionService,
  entity: new (...args: never[]) => T,
  rawId: unknown,
  field: string,
  visibility: PermissionKey,
  label: string,
  where: FilterQuery<T> = {} as FilterQuery<T>,
): Promise<T> {
  const id = parseId(rawId, field);
  const record = await em.findOne(entity, { ...(where as object), id } as FilterQuery<T>);
  if (!record || !(await p.can(visibility, record))) throw new NotFoundError(label, field);
  return record;
}
