import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/core';
import { ArgsType } from 'type-graphql';
import {
  byId,
  byProperty,
  listArgs,
  type ListOrder,
  OrderDirection,
  orderedPage,
  type Page,
  SearchFilter,
} from './cursor';
import { containsText } from './search';

/** The orderings of lists of named records. */
export const ByName = { ID: 'ID', NAME: 'NAME' } as const;
export type ByName = keyof typeof ByName;

export const OLDEST_FIRST: ListOrder<ByName> = { field: 'ID', direction: OrderDirection.ASC };

/** A list of named records: searched by name, ordered by id or name. */
@ArgsType()
export class NamedListArgs extends listArgs(
  'Name',
  ByName,
  OLDEST_FIRST,
  {
    ID: 'Creation order (ids grow as rows are made).',
    NAME: 'By name (the database collation), then id.',
  },
  { type: SearchFilter, description: 'Narrows the list: `search` matches the name.' },
) {}

/** A page of named `entity` rows matching `where` and the args' search. */
export function namedPage<T extends { id: number; name: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>[],
  args: NamedListArgs,
  options: { readonly populate?: readonly string[] } = {},
): Promise<Page<T>> {
  const term = args.filter?.search?.trim();
  const conditions = term ? [...where, { name: containsText(term) } as FilterQuery<T>] : where;
  return orderedPage(
    em,
    entity,
    conditions,
    args,
    args.orderBy,
    { ID: byId, NAME: byProperty<T>('name') },
    options,
  );
}
